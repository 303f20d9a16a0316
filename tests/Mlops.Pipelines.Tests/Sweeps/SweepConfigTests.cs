using System.Text;
using Mlops.Pipelines.Configuration;
using Xunit;

namespace Mlops.Pipelines.Tests.Sweeps;

public sealed class SweepConfigTests
{
    private static PipelineConfig Parse(string sweep, string trainer = "gbdt") =>
        PipelineConfigLoader.Parse(
            "ds",
            Encoding.UTF8.GetBytes($$"""{"target":"y","task":"binary","trainer":"{{trainer}}","sweep":{{sweep}}}""")
        );

    [Fact]
    public void Parse_BayesWithEarlyTerminationAndObjectives_ReadsEverySetting()
    {
        var c = Parse(
            """
            {"method":"bayes","maxTrials":12,"parallelism":3,"nStartup":4,"gamma":0.3,
             "parameters":{"learning_rate":{"min":0.01,"max":0.3,"log":true}},
             "earlyTerminate":{"type":"median","minIter":5,"eta":2},
             "objectives":[{"metric":"auc","goal":"max"},{"metric":"predict_latency_us","goal":"min"}]}
            """
        );
        var s = c.Sweep!;
        Assert.Equal(("bayes", 4, 0.3), (s.Method, s.StartupTrials, s.Gamma));
        Assert.Equal(("median", 5, 2), (s.EarlyTerminate!.Type, s.EarlyTerminate.MinIter, s.EarlyTerminate.Eta));
        Assert.Equal(["auc", "predict_latency_us"], s.Objectives!.Select(o => o.Metric));
        Assert.Equal(4, new SweepConfig { MaxTrials = 12 }.StartupTrials); // default: a third of the trials
    }

    [Theory]
    [InlineData(
        """{"method":"optuna","parameters":{"l2":[1,2]}}""",
        "\"sweep.method\" is \"optuna\"; use \"grid\", \"random\", \"bayes\" or \"adaptive\""
    )]
    [InlineData(
        """{"method":"bayes","parameters":{"l2":[1,2]},"earlyTerminate":{"type":"asha"}}""",
        "\"sweep.earlyTerminate.type\" is \"asha\"; use \"hyperband\" or \"median\""
    )]
    [InlineData(
        """{"method":"bayes","parameters":{"l2":[1,2]},"earlyTerminate":{"eta":1}}""",
        "\"sweep.earlyTerminate.eta\" is 1"
    )]
    [InlineData(
        """{"method":"bayes","parameters":{"l2":[1,2]},"objectives":[{"metric":"auc","goal":"up"}]}""",
        "goal \"up\" of \"auc\"; use \"max\" or \"min\""
    )]
    [InlineData("""{"method":"random","parameters":{"l2":{"min":5,"max":1}}}""", "need min ≤ max")]
    [InlineData(
        """{"method":"adaptive","parameters":{"l2":[1,2]},"earlyTerminate":{}}""",
        "does not combine with \"method\": \"adaptive\""
    )]
    [InlineData(
        """{"method":"grid","parameters":{"l2":{"min":1,"max":5}}}""",
        "\"sweep.parameters.l2\" is a range, which grid search cannot enumerate"
    )]
    public void Parse_BadSweep_ClearConfigError(string sweep, string expected)
    {
        var e = Assert.Throws<PipelineConfigException>(() => Parse(sweep));
        Assert.Equal("config.invalid", e.Code);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Parse_EarlyTerminationWithAutoTrainer_AsksForGbdt()
    {
        var e = Assert.Throws<PipelineConfigException>(() =>
            Parse("""{"method":"random","parameters":{"l2":[1,2]},"earlyTerminate":{}}""", trainer: "auto")
        );
        Assert.Contains("needs \"trainer\": \"gbdt\"", e.Message);
    }
}
