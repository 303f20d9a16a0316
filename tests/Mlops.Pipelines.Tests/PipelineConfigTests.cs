using System.Text;
using System.Text.Json;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Sweeps;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Pipelines.Tests;

public sealed class PipelineConfigTests
{
    private static PipelineConfig Parse(string json) => PipelineConfigLoader.Parse("ds", Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_MinimalConfig_FillsDefaults()
    {
        var c = Parse("""{"target":"label","task":"Binary"}""");
        Assert.Equal("binary", c.Task);
        Assert.Equal("auto", c.Trainer);
        Assert.Equal(0.2, c.TestFraction);
        Assert.Equal("replace", c.Mode);
        Assert.Equal("auto", c.Approval);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    [InlineData("ftp://hooks.example.com/x")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    public void Parse_InvalidAlertWebhook_ConfigErrorNamingIt(string url)
    {
        var e = Assert.Throws<PipelineConfigException>(() =>
            Parse($$"""{"target":"label","task":"binary","alertWebhook":"{{url}}"}""")
        );
        Assert.Contains("alertWebhook", e.Message);
    }

    [Fact]
    public void Parse_MissingTarget_MessageSaysWhatToAdd()
    {
        var e = Assert.Throws<PipelineConfigException>(() => Parse("""{"task":"binary"}"""));
        Assert.Contains("add \"target\"", e.Message);
        Assert.Contains("incoming/ds/mlops.json", e.Message);
    }

    [Fact]
    public void Parse_SeveralProblems_AllNamedInOneMessage()
    {
        var e = Assert.Throws<PipelineConfigException>(() =>
            Parse("""{"target":"y","task":"clustering","testFraction":2,"schedule":"0 2 * * *","trainr":"gbdt"}""")
        );
        Assert.Contains("\"task\" is \"clustering\"", e.Message);
        Assert.Contains("testFraction", e.Message);
        Assert.Contains("6-field", e.Message);
        Assert.Contains("\"trainr\"", e.Message);
    }

    [Theory]
    [InlineData("\"auto\"", true, "f1")]
    [InlineData("\"auto:balanced_accuracy\"", true, "balanced_accuracy")]
    [InlineData("0.35", false, "f1")]
    public void Parse_Threshold_BecomesTheTrainingRule(string value, bool auto, string metric)
    {
        var rule = Parse($$"""{"target":"y","task":"binary","threshold":{{value}}}""").ThresholdRule();
        Assert.Equal(auto, rule.Auto);
        Assert.Equal(metric, rule.Metric);
    }

    [Theory]
    [InlineData("""{"target":"y","task":"binary","threshold":"sometimes"}""", "\"threshold\" is")]
    [InlineData("""{"target":"y","task":"binary","threshold":1.5}""", "between 0 and 1")]
    [InlineData("""{"target":"y","task":"regression","threshold":"auto"}""", "binary\" only")]
    public void Parse_BadThreshold_ClearMessage(string json, string expected)
    {
        var e = Assert.Throws<PipelineConfigException>(() => Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Parse_NotJson_SaysSoWithExample()
    {
        var e = Assert.Throws<PipelineConfigException>(() => Parse("target: y"));
        Assert.Equal("config.invalid_json", e.Code);
        Assert.Contains("\"target\"", e.Message);
    }

    [Fact]
    public async Task Load_NoConfigBlob_MessageNamesTheBlobToAdd()
    {
        var e = await Assert.ThrowsAsync<PipelineConfigException>(() =>
            PipelineConfigLoader.LoadAsync(new InMemoryBlobStore(), "sales")
        );
        Assert.Equal("config.missing", e.Code);
        Assert.Contains("incoming/sales/mlops.json", e.Message);
        Assert.Contains("\"target\"", e.Message);
    }
}

public sealed class SweepPlannerTests
{
    private static SweepConfig Sweep(string method, int max, string parameters) =>
        new()
        {
            Method = method,
            MaxTrials = max,
            Parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(parameters)!,
        };

    [Fact]
    public void Plan_Grid_IsFullCartesianProductCappedByMaxTrials()
    {
        var trials = SweepPlanner.Plan(
            Sweep("grid", 100, """{"learning_rate":[0.05,0.1,0.2],"num_leaves":[15,31]}"""),
            null,
            1
        );
        Assert.Equal(6, trials.Count);
        Assert.Equal(
            6,
            trials.Select(t => t["learning_rate"].GetDouble() + "/" + t["num_leaves"].GetInt32()).Distinct().Count()
        );
        Assert.Equal(
            4,
            SweepPlanner
                .Plan(Sweep("grid", 4, """{"learning_rate":[0.05,0.1,0.2],"num_leaves":[15,31]}"""), null, 1)
                .Count
        );
    }

    [Fact]
    public void Plan_Random_IsDeterministicForSeedAndRespectsRanges()
    {
        var sweep = Sweep(
            "random",
            10,
            """{"learning_rate":{"min":0.01,"max":0.3,"log":true},"num_leaves":{"min":8,"max":64,"int":true}}"""
        );
        var a = SweepPlanner.Plan(sweep, null, 7);
        var b = SweepPlanner.Plan(sweep, null, 7);
        Assert.Equal(JsonSerializer.Serialize(a), JsonSerializer.Serialize(b));
        Assert.NotEqual(JsonSerializer.Serialize(a), JsonSerializer.Serialize(SweepPlanner.Plan(sweep, null, 8)));
        Assert.Equal(10, a.Count);
        Assert.All(a, t =>
        {
            Assert.InRange(t["learning_rate"].GetDouble(), 0.01, 0.3);
            Assert.InRange(t["num_leaves"].GetInt32(), 8, 64);
        });
    }

    [Fact]
    public void Plan_KeepsBaseParamsNotSwept()
    {
        var baseParams = new Dictionary<string, JsonElement> { ["num_rounds"] = JsonSerializer.SerializeToElement(50) };
        var trials = SweepPlanner.Plan(Sweep("grid", 10, """{"learning_rate":[0.1]}"""), baseParams, 1);
        Assert.Equal(50, Assert.Single(trials)["num_rounds"].GetInt32());
    }

    [Fact]
    public void RungBudget_GrowsByEtaToFullBudget()
    {
        Assert.Equal(new[] { 11, 33, 100 }, Enumerable.Range(0, 3).Select(r => SweepPlanner.RungBudget(100, r, 3)));
    }
}
