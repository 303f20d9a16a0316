using System.Text.Json;
using Mlops.Monitoring.Policy;

namespace Mlops.Monitoring.Tests;

public class RetrainPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private const string IssueExample = """
        { "schedule": "0 0 * * * *", "window": "P1D",
          "retrain": { "when": [ {"signal": "performance", "metric": "auc", "drop": 0.02},
                                 {"signal": "data_drift", "share": 0.5},
                                 {"signal": "schedule", "cron": "0 0 3 * * 0"},
                                 {"signal": "new_labels", "count": 5000} ],
                       "trainOn": "accepted+feedback", "cooldown": "PT6H", "maxPerDay": 2 } }
        """;

    private static MonitoringOptions Options(string json = IssueExample) =>
        MonitoringOptions.Parse(JsonDocument.Parse(json).RootElement);

    private static MonitorSignals Signals(double auc = 0.9, double? drift = 0.1, long labels = 0) =>
        new(
            Now,
            new Dictionary<string, double> { ["auc"] = auc },
            false,
            new Dictionary<string, double> { ["auc"] = 0.9 },
            drift,
            labels
        );

    [Fact]
    public void Parse_IssueExample_ReadsEveryKey()
    {
        var o = Options();
        Assert.Equal(TimeSpan.FromDays(1), o.Window);
        Assert.Equal(4, o.Retrain!.When.Count);
        Assert.Equal("accepted+feedback", o.Retrain.TrainOn);
        Assert.Equal(TimeSpan.FromHours(6), o.Retrain.Cooldown);
        Assert.Equal(2, o.Retrain.MaxPerDay);
        Assert.Equal(0.02, o.Retrain.When[0].Drop);
        Assert.Equal(5000, o.Retrain.When[3].Count);
    }

    [Theory]
    [InlineData("""{"window": "1 day"}""", "monitoring.window")]
    [InlineData("""{"schedule": "0 * * * *"}""", "monitoring.schedule")]
    [InlineData(
        """{"retrain": {"when": [{"signal": "data_drift", "share": 1.5}]}}""",
        "monitoring.retrain.when[0].share"
    )]
    [InlineData("""{"retrain": {"when": [{"signal": "vibes"}]}}""", "monitoring.retrain.when[0].signal")]
    [InlineData(
        """{"retrain": {"when": [{"signal": "performance", "drop": 0.1}]}}""",
        "monitoring.retrain.when[0].metric"
    )]
    [InlineData(
        """{"retrain": {"when": [{"signal": "new_labels", "count": 10, "share": 1}]}}""",
        "monitoring.retrain.when[0].share"
    )]
    [InlineData(
        """{"retrain": {"when": [{"signal": "new_labels", "count": 10}], "trainOn": "everything"}}""",
        "monitoring.retrain.trainOn"
    )]
    [InlineData(
        """{"retrain": {"when": [{"signal": "new_labels", "count": 10}], "cooldown": "-PT1H"}}""",
        "monitoring.retrain.cooldown"
    )]
    [InlineData("""{"retrain": {"when": []}}""", "monitoring.retrain.when")]
    [InlineData("""{"windw": "P1D"}""", "monitoring.windw")]
    public void Parse_BadValue_MessageNamesTheKey(string json, string key)
    {
        var e = Assert.Throws<MonitoringException>(() => Options(json));
        Assert.Equal("monitoring.config", e.Code);
        Assert.Equal(400, e.Status);
        Assert.StartsWith(key + " ", e.Message);
    }

    [Fact]
    public void Parse_Absent_Defaults()
    {
        var o = MonitoringOptions.Parse(null);
        Assert.Equal("0 0 * * * *", o.Schedule);
        Assert.Equal(100, o.MinLabels);
        Assert.Equal(0.5, o.DriftShare);
        Assert.Null(o.Retrain);
        Assert.False(RetrainPolicy.Decide(o.Retrain, Signals(), new([], null)).Retrain);
    }

    [Fact]
    public void Decide_PerformanceDrop_Retrains()
    {
        var d = RetrainPolicy.Decide(Options().Retrain, Signals(auc: 0.85), new([], Now.AddHours(-1)));
        Assert.True(d.Retrain);
        Assert.Contains("auc", d.Reason);
        Assert.Contains(d.Conditions, c =>
            c.Signal == "performance" && c.Held && Math.Abs(c.Value!.Value - 0.05) < 1e-9
        );
    }

    [Fact]
    public void Decide_NothingHolds_NoRetrainButRecordsEveryCondition()
    {
        var d = RetrainPolicy.Decide(Options().Retrain, Signals(), new([], Now.AddHours(-1)));
        Assert.False(d.Retrain);
        Assert.Null(d.SuppressedBy);
        Assert.Equal(4, d.Conditions.Count);
    }

    [Fact]
    public void Decide_InsideCooldown_HeldBack()
    {
        var d = RetrainPolicy.Decide(Options().Retrain, Signals(drift: 0.8), new([Now.AddHours(-2)], Now.AddHours(-1)));
        Assert.False(d.Retrain);
        Assert.Equal("cooldown", d.SuppressedBy);
        var after = RetrainPolicy.Decide(
            Options().Retrain,
            Signals(drift: 0.8),
            new([Now.AddHours(-7)], Now.AddHours(-1))
        );
        Assert.True(after.Retrain);
    }

    [Fact]
    public void Decide_DailyCapReached_HeldBack()
    {
        var retrain = Options().Retrain! with { Cooldown = TimeSpan.FromMinutes(10) };
        var d = RetrainPolicy.Decide(
            retrain,
            Signals(labels: 6000),
            new([Now.AddHours(-20), Now.AddHours(-3)], Now.AddHours(-1))
        );
        Assert.False(d.Retrain);
        Assert.Equal("daily_cap", d.SuppressedBy);
        var nextDay = RetrainPolicy.Decide(
            retrain,
            Signals(labels: 6000),
            new([Now.AddHours(-30), Now.AddHours(-3)], Now.AddHours(-1))
        );
        Assert.True(nextDay.Retrain);
    }

    [Fact]
    public void Decide_ScheduleTick_FiresOnceAfterIt()
    {
        // Sunday 2026-11-29 03:00 is a tick of "0 0 3 * * 0".
        var sunday = new DateTimeOffset(2026, 11, 29, 3, 30, 0, TimeSpan.Zero);
        var retrain = Options().Retrain!;
        var first = RetrainPolicy.Decide(retrain, Signals() with { Now = sunday }, new([], sunday.AddHours(-1)));
        var second = RetrainPolicy.Decide(retrain, Signals() with { Now = sunday.AddHours(1) }, new([], sunday));
        Assert.True(first.Retrain);
        Assert.Contains("schedule", first.Reason);
        Assert.False(second.Retrain);
    }

    [Fact]
    public void Decide_LowerIsBetterMetric_DropIsAnIncrease()
    {
        var retrain = new RetrainOptions(
            [new RetrainCondition("performance", Metric: "rmse", Drop: 0.5)],
            "accepted",
            TimeSpan.FromHours(1),
            2
        );
        var worse = new MonitorSignals(
            Now,
            new Dictionary<string, double> { ["rmse"] = 3.0 },
            false,
            new Dictionary<string, double> { ["rmse"] = 2.0 },
            null,
            0
        );
        var better = worse with { Metrics = new Dictionary<string, double> { ["rmse"] = 1.0 } };
        Assert.True(RetrainPolicy.Decide(retrain, worse, new([], null)).Retrain);
        Assert.False(RetrainPolicy.Decide(retrain, better, new([], null)).Retrain);
    }
}
