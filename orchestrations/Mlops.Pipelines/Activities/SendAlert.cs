using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;

namespace Mlops.Pipelines.Activities;

/// <summary>An alert and where to deliver it (the dataset's <c>alertWebhook</c>; none = log only).</summary>
public sealed record AlertRequest(string? Webhook, Alert Alert);

/// <summary>
/// Delivers an alert to the webhook through the SSRF-safe sender. Run as an activity with a retry policy, so an alert
/// survives a host crash and a receiver's hiccup; a row per <see cref="Alert.DedupKey"/> makes a redelivered or
/// retried activity send it once.
/// </summary>
public sealed class SendAlert(PipelineServices services, WebhookOptions options, ILogger<SendAlert> log) : TaskActivity<AlertRequest, bool>
{
    public const string Table = "alerts";

    public override async Task<bool> RunAsync(TaskActivityContext context, AlertRequest input)
    {
        var alert = input.Alert;
        log.LogWarning("Alert {Severity} {Kind} for {Subject}: {Message}", alert.Severity, alert.Kind, alert.Model ?? alert.Dataset, alert.Message);
        if (string.IsNullOrWhiteSpace(input.Webhook)) return false;

        string partition = alert.Model ?? alert.Dataset ?? "-";
        string row = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(alert.DedupKey)))[..32];
        if (await services.Storage.Tables.GetAsync(Table, partition, row) is not null) return true; // delivered before

        using var sender = new SafeWebhookSender(input.Webhook, options);
        await sender.SendAsync(alert); // throws on failure: the orchestrator's retry policy backs off and tries again
        await services.Storage.Tables.UpsertAsync(Table, new TableRow(partition, row)
        {
            ["DedupKey"] = alert.DedupKey, ["Kind"] = alert.Kind, ["Signal"] = alert.Signal, ["SentAt"] = DateTimeOffset.UtcNow, ["InstanceId"] = context.InstanceId,
        });
        return true;
    }
}
