using Mlops.Data.Alerts;
using Mlops.Serving;

namespace Mlops.Functions.Hosting;

/// <summary>Automatic canary rollbacks become alerts on the host's alert sink (log, and MLOPS_ALERT_WEBHOOK when set).</summary>
public sealed class RollbackAlerts(IAlertSink alerts) : IServingEvents
{
    public Task AutoRolledBackAsync(string model, int version, string reason, CancellationToken cancellationToken) =>
        alerts.SendAsync(new DataAlert(model, $"v{version}", Mlops.Data.Validation.ValidationOutcome.Quarantined, reason, [], "serving:auto_rollback", $"models/{model}/history", DateTimeOffset.UtcNow), cancellationToken);
}
