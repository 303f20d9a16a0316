using Mlops.Data.Alerts;
using Mlops.Functions.Hosting;
using Xunit;

namespace Mlops.Functions.Tests.Hosting;

/// <summary>An automatic canary rollback alerts the host's sink as an error, keyed by the rolled-back
/// version.</summary>
public sealed class RollbackAlertsTests
{
    private sealed class CapturingSink : IAlertSink
    {
        public List<Alert> Alerts { get; } = [];

        public Task SendAsync(Alert alert, CancellationToken cancellationToken = default)
        {
            Alerts.Add(alert);
            return Task.CompletedTask;
        }
    }

    private sealed class FailingSink : IAlertSink
    {
        public Task SendAsync(Alert alert, CancellationToken cancellationToken = default) =>
            throw new HttpRequestException("receiver down");
    }

    [Fact]
    public async Task AutoRolledBack_SendsOneErrorAlert_KindAutoRollback_WindowTheVersion()
    {
        var sink = new CapturingSink();

        await new RollbackAlerts(sink).AutoRolledBackAsync(
            "churn",
            4,
            "error rate 12% over 5%",
            CancellationToken.None
        );

        var alert = Assert.Single(sink.Alerts);
        Assert.Equal(AlertSeverity.Error, alert.Severity);
        Assert.Equal("auto_rollback", alert.Kind);
        Assert.Equal("churn", alert.Model);
        Assert.Equal("error rate 12% over 5%", alert.Message);
        Assert.Equal("churn|canary|v4", alert.DedupKey);
        Assert.Equal("models/churn/history", alert.ReportLink);
    }

    [Fact]
    public async Task AutoRolledBack_SinkFails_TheFailureReachesTheCaller()
    {
        // The serving loop logs what an observer throws; a swallowed failure would leave no trace at all.
        await Assert.ThrowsAsync<HttpRequestException>(() =>
            new RollbackAlerts(new FailingSink()).AutoRolledBackAsync("churn", 4, "error rate", CancellationToken.None)
        );
    }
}
