using System.Text;
using Mlops.Core.Storage;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Training;
using Mlops.Storage.InMemory;
using Mlops.Tracking;
using Xunit;

namespace Mlops.Pipelines.Tests.Sweeps;

/// <summary>
/// A sweep trains the trainer its parameters belong to, a parameter of another trainer is refused when the config is
/// loaded, and a run records only the parameters its trainer read (issue 23: an auto sweep over tree parameters
/// trained linear models on the wine set while the runs table showed num_leaves beside them).
/// </summary>
public sealed class TrainerParametersTests
{
    private static PipelineConfig Parse(string trainer, string? sweepParameters, string? fixedParams = null) =>
        PipelineConfigLoader.Parse(
            "ds",
            Encoding.UTF8.GetBytes(
                $$"""
                {"target":"y","task":"binary","trainer":"{{trainer}}"{{(
                    fixedParams is null ? "" : $",\"params\":{fixedParams}"
                )}}
                 {{(
                    sweepParameters is null
                        ? ""
                        : $",\"sweep\":{{\"method\":\"grid\",\"maxTrials\":4,\"parameters\":{sweepParameters}}}"
                )}}}
                """
            )
        );

    [Theory]
    [InlineData("""{"num_leaves":[8,19]}""", "gbdt")] // gbdt and forest read it; boosted trees train
    [InlineData("""{"num_leaves":[8,19],"learning_rate":[0.05,0.1]}""", "gbdt")]
    [InlineData("""{"num_trees":[50,100]}""", "forest")]
    [InlineData("""{"max_iterations":[50,100],"tolerance":[1e-6,1e-4]}""", "linear")]
    [InlineData("""{"forest.num_leaves":[8,16]}""", "forest")]
    [InlineData("""{"l2":[0.1,1]}""", "auto")] // gbdt and linear both read l2: every candidate uses it
    public void Parse_AutoSweep_TrainsTheTrainerItsParametersBelongTo(string parameters, string expected)
    {
        Assert.Equal(expected, Parse("auto", parameters).Trainer);
    }

    [Fact]
    public void Parse_AutoSweepMixingTrainers_RefusedNamingEachParameterAndTrainer()
    {
        var e = Assert.Throws<PipelineConfigException>(() =>
            Parse("auto", """{"num_leaves":[8,19],"max_iterations":[50,100]}""")
        );
        Assert.Equal("config.invalid", e.Code);
        Assert.Contains("\"sweep.parameters.num_leaves\" (gbdt/forest)", e.Message);
        Assert.Contains("\"sweep.parameters.max_iterations\" (linear)", e.Message);
    }

    [Fact]
    public void Parse_AutoSweepWithFixedParameterOfAnotherTrainer_Refused()
    {
        var e = Assert.Throws<PipelineConfigException>(() =>
            Parse("auto", """{"num_leaves":[8,19]}""", fixedParams: """{"max_iterations":50}""")
        );
        Assert.Contains("\"params.max_iterations\" (linear)", e.Message);
    }

    [Theory]
    [InlineData(
        "linear",
        """{"num_leaves":[8,19]}""",
        null,
        "\"sweep.parameters.num_leaves\" is a gbdt/forest parameter and \"trainer\" is \"linear\", which ignores it; remove it or set \"trainer\": \"gbdt\""
    )]
    [InlineData(
        "gbdt",
        """{"learning_rate":[0.1,0.2]}""",
        """{"max_iterations":50}""",
        "\"params.max_iterations\" is a linear parameter and \"trainer\" is \"gbdt\", which ignores it"
    )]
    [InlineData(
        "forest",
        """{"num_trees":[50,100]}""",
        """{"linear.l2":1}""",
        "\"params.linear.l2\" is a linear parameter and \"trainer\" is \"forest\""
    )]
    public void Parse_ParameterTheTrainerIgnores_RefusedNamingParameterAndTrainer(
        string trainer,
        string sweep,
        string? fixedParams,
        string expected
    )
    {
        var e = Assert.Throws<PipelineConfigException>(() => Parse(trainer, sweep, fixedParams));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Parse_EarlyTerminationWithAutoSweepOverTreeParameters_AcceptedAsGbdt()
    {
        var c = PipelineConfigLoader.Parse(
            "ds",
            Encoding.UTF8.GetBytes(
                """
                {"target":"y","task":"binary","sweep":{"method":"random","maxTrials":4,"parameters":{"num_leaves":[8,16]},"earlyTerminate":{}}}
                """
            )
        );
        Assert.Equal("gbdt", c.Trainer);
    }

    [Fact]
    public void ReadBy_Linear_KeepsOnlyWhatLinearReads()
    {
        var read = TrainerParameters.ReadBy(
            "linear",
            new Dictionary<string, int>
            {
                ["num_leaves"] = 8,
                ["l2"] = 1,
                ["gbdt.l2"] = 2,
                ["linear.tolerance"] = 3,
            }
        );
        Assert.Equal(["l2", "linear.tolerance"], read.Keys.Order());
    }

    /// <summary>The case end to end: auto on the wine set picks linear; its run row must not show
    /// num_leaves.</summary>
    [Fact]
    public async Task TrainCandidate_AutoRunThatChoseLinear_RecordsNoTreeParameter()
    {
        var storage = new StorageServices(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore());
        var services = PipelineServices.Create(storage);
        var wine = await File.ReadAllBytesAsync(DataPath("sk_wine.csv"));
        var hash = (await services.Datasets.IngestAsync("wine", wine)).Version.Hash;
        var config = PipelineConfigLoader.Parse(
            "wine",
            Encoding.UTF8.GetBytes("""{"target":"target","task":"multiclass","params":{"num_leaves":8,"l2":1}}""")
        );
        Assert.Equal("auto", config.Trainer); // no sweep: auto picks by cross-validation
        var request = new TrialRequest(
            "wine",
            "train-wine-1-t0",
            [hash],
            config,
            config.Params!.ToDictionary(p => p.Key, p => p.Value)
        );

        var result = await new TrainCandidate(services).RunAsync(null!, request);

        Assert.Equal("linear", result.Trainer);
        Assert.Equal(["l2"], result.Params.Keys);
        var row = (await new RunIndex(storage).GetAsync("train-wine-1-t0"))!;
        Assert.Equal("linear", row.Trainer);
        Assert.False(row.Params.ContainsKey("num_leaves"));
        Assert.Equal(1, row.Params["l2"].GetInt32());
    }

    private static string DataPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "data", name);
    }
}
