using Mlops.Data.Alerts;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reports;
using Mlops.Pipelines.Monitoring;
using Xunit;

namespace Mlops.Pipelines.Tests.Monitoring;

/// <summary>What a monitor run alerts on, with which severity and key (<see cref="MonitorModel.AlertsFor"/>,
/// pure).</summary>
public sealed class MonitorAlertsTests
{
    private static readonly DateTimeOffset To = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly MonitorPlan Plan = new("churn", "monitor-churn-1", 3, To.AddDays(-1), To, null, "{}");

    private static RetrainDecision Decision(bool retrain, string? suppressedBy = null) =>
        new(retrain, retrain ? "data drift 0.75 >= 0.5" : "cooldown until 18:00", [], suppressedBy, To);

    [Fact]
    public void AlertsFor_PerformanceBreach_Error_DriftBreach_Warning_OkSignals_None()
    {
        Verdict[] verdicts =
        [
            new("performance", "breach", 0.81, 0.85, "auc 0.81 dropped below 0.85"),
            new("data_drift", "breach", 0.75, 0.5, "3 of 4 features drifted"),
            new("prediction_drift", "ok", 0.02, 0.1, "stable"),
        ];

        var alerts = MonitorModel.AlertsFor(
            Plan,
            "churn/monitor-churn-1/report.json",
            verdicts,
            Decision(false),
            null,
            To
        );

        Assert.Equal(["performance", "data_drift"], alerts.Select(a => a.Signal));
        Assert.Equal([AlertSeverity.Error, AlertSeverity.Warning], alerts.Select(a => a.Severity));
        Assert.All(alerts, a => Assert.Equal("monitor_breach", a.Kind));
        Assert.All(alerts, a => Assert.Equal("monitoring/churn/monitor-churn-1/report.json", a.ReportLink));
        Assert.Equal(0.81, alerts[0].Values!["performance"]);
        Assert.Equal(0.85, alerts[0].Thresholds!["performance"]);
        Assert.Equal($"churn|performance|{Plan.From:O}/{Plan.To:O}", alerts[0].DedupKey);
    }

    [Fact]
    public void AlertsFor_RetrainStartedOrHeldBack_OneWarningEach_SameKeyForTheWindow()
    {
        var started = Assert.Single(MonitorModel.AlertsFor(Plan, "r.json", [], Decision(true), "train-churn-7", To));
        var held = Assert.Single(MonitorModel.AlertsFor(Plan, "r.json", [], Decision(false, "cooldown"), null, To));

        Assert.Equal(("retrain_started", AlertSeverity.Warning), (started.Kind, started.Severity));
        Assert.Contains("train-churn-7", started.Message);
        Assert.Equal(("retrain_held_back", AlertSeverity.Warning), (held.Kind, held.Severity));
        Assert.Equal(started.DedupKey, held.DedupKey); // one retraining alert per window, as before
        Assert.Empty(MonitorModel.AlertsFor(Plan, "r.json", [], Decision(false), null, To));
    }
}
