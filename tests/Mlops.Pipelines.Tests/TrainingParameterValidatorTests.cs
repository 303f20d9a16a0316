using System.Text;
using Mlops.Pipelines.Configuration;
using Xunit;

namespace Mlops.Pipelines.Tests;

/// <summary>Hyperparameters are a user's input: checked when mlops.json is loaded, not after a training activity's
/// retries.</summary>
public class TrainingParameterValidatorTests
{
    private static PipelineConfig Parse(string json) => PipelineConfigLoader.Parse("ds", Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("""{"learning_rate":"fast"}""", "\"params.learning_rate\"")]
    [InlineData("""{"num_leavs":31}""", "\"params.num_leavs\"")]
    [InlineData("""{"num_leaves":[31]}""", "\"params.num_leaves\" is [31]")]
    [InlineData("""{"feature_fraction":7}""", "\"params.feature_fraction\"")]
    public void Parse_BadParams_ConfigErrorNamingTheParameter(string parameters, string named)
    {
        // Before: accepted here (202 on the HTTP start, a drop ingested), then TrainCandidate failed after its retries.
        var e = Assert.Throws<PipelineConfigException>(() =>
            Parse($$"""{"target":"y","task":"binary","trainer":"gbdt","params":{{parameters}}}""")
        );
        Assert.Equal("config.invalid", e.Code);
        Assert.Equal(400, e.Status);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Parse_TwoBadParams_BothNamed()
    {
        var e = Assert.Throws<PipelineConfigException>(() =>
            Parse("""{"target":"y","task":"binary","params":{"learning_rate":"fast","bogus":1}}""")
        );
        Assert.Contains("params.learning_rate", e.Message);
        Assert.Contains("params.bogus", e.Message);
    }

    [Fact]
    public void Parse_GoodParams_Accepted()
    {
        var c = Parse(
            """{"target":"y","task":"binary","trainer":"gbdt","params":{"learning_rate":0.05,"num_leaves":63,"objective":"l1"}}"""
        );
        Assert.Equal(3, c.Params!.Count);
        Assert.Empty(
            TrainingParameterValidator.Problems(
                "linear",
                new Dictionary<string, System.Text.Json.JsonElement>
                {
                    ["l2"] = System.Text.Json.JsonDocument.Parse("0.1").RootElement,
                }
            )
        );
    }
}
