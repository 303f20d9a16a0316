using Mlops.Data.Alerts;
using Mlops.Serving;

namespace Mlops.Functions.Hosting;

/// <summary>
/// Automatic canary rollbacks become error alerts on the host's alert sink (log, and MLOPS_ALERT_WEBHOOK when set).
/// A delivery failure throws to the serving loop, which logs it: a rollback is not an orchestration, so there is no
/// durable retry to hand it to.
/// </summary>
public sealed class RollbackAlerts(IAlertSink alerts) : IServingEvents
{
    /// <inheritdoc />
    public Task AutoRolledBackAsync(string model, int version, string reason, CancellationToken cancellationToken) =>
        alerts.SendAsync(
            new Alert(
                AlertSeverity.Error,
                "auto_rollback",
                "canary",
                reason,
                Dataset: model,
                Model: model,
                ReportLink: $"models/{model}/history",
                Window: $"v{version}",
                Time: DateTimeOffset.UtcNow
            ),
            cancellationToken
        );
}
