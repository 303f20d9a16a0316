using System.Security.Cryptography;
using System.Text;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;

namespace Mlops.Pipelines.Activities;

/// <summary>An alert and where to deliver it.</summary>
/// <param name="Webhook">The dataset's <c>alertWebhook</c>, delivered to besides the host's sinks (the log and
/// <c>MLOPS_ALERT_WEBHOOK</c>); null for the host's sinks only.</param>
/// <param name="Alert">The alert.</param>
/// <param name="GiveUpReason">Set by <see cref="DurableAlerts"/> once the retries are spent: the activity records the
/// alert as undelivered with this reason instead of sending it again.</param>
public sealed record AlertRequest(string? Webhook, Alert Alert, string? GiveUpReason = null);

/// <summary>
/// The one delivery path of alerts: delivers an alert to the host's <see cref="IAlertSink"/> (and the dataset's webhook
/// through the SSRF-safe <see cref="SafeWebhookSender"/>), throwing when it was not delivered so the orchestrator's
/// retry policy backs off and tries again. Its record in <see cref="Table"/> (partition = model or dataset, row = hash
/// of
/// <see cref="Alert.DedupKey"/>) is written only after a delivery succeeded, or after the retries were spent
/// (<see cref="AlertRequest.GiveUpReason"/>): a recorded alert is never sent again, an unrecorded one always is.
/// Call it through <see cref="DurableAlerts.SendAsync"/>.
/// </summary>
public sealed class SendAlert(
    ITableStore tables,
    IAlertSink hostSink,
    ILogger<SendAlert> log,
    WebhookOptions? webhookOptions = null
) : TaskActivity<AlertRequest, bool>
{
    /// <summary>Delivery records (one row per alert key).</summary>
    public const string Table = "alerts";

    /// <summary>Status of a delivered alert's record.</summary>
    public const string Delivered = "delivered";

    /// <summary>Status of an alert whose retries were spent.</summary>
    public const string Failed = "failed";

    /// <summary>Row key of an alert's record: its dedup key hashed (keys may hold characters a table key may
    /// not).</summary>
    public static string RowKey(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(alert.DedupKey)))[..32];
    }

    /// <summary>Delivers (or records the give-up of) one alert; true when it was delivered by this call.</summary>
    public override async Task<bool> RunAsync(TaskActivityContext context, AlertRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var alert = input.Alert;
        var ct = CancellationToken.None;
        string row = RowKey(alert);
        if (await tables.GetAsync(Table, alert.Subject, row, ct).ConfigureAwait(false) is not null)
            return false; // recorded before

        if (input.GiveUpReason is { } reason)
        {
            log.LogError(
                "Alert {Kind} for {Subject} ({DedupKey}) was not delivered after its retries: {Reason}",
                alert.Kind,
                alert.Subject,
                alert.DedupKey,
                reason
            );
            await RecordAsync(context, alert, row, Failed, reason, ct).ConfigureAwait(false);
            return false;
        }

        if (string.IsNullOrWhiteSpace(input.Webhook))
        {
            await hostSink.SendAsync(alert, ct).ConfigureAwait(false);
        }
        else
        {
            using var webhook = new SafeWebhookSender(
                input.Webhook,
                webhookOptions ?? WebhookOptions.FromEnvironment()
            );
            await new CompositeAlertSink([hostSink, webhook]).SendAsync(alert, ct).ConfigureAwait(false);
        }
        await RecordAsync(context, alert, row, Delivered, null, ct).ConfigureAwait(false);
        return true;
    }

    private Task RecordAsync(
        TaskActivityContext context,
        Alert alert,
        string row,
        string status,
        string? error,
        CancellationToken ct
    )
    {
        var record = new TableRow(alert.Subject, row)
        {
            ["DedupKey"] = alert.DedupKey,
            ["Kind"] = alert.Kind,
            ["Signal"] = alert.Signal,
            ["Severity"] = alert.Severity.ToString(),
            ["Status"] = status,
            ["RecordedAt"] = DateTimeOffset.UtcNow,
            ["InstanceId"] = context.InstanceId,
        };
        if (error is not null)
            record["Error"] = error;
        return tables.UpsertAsync(Table, record, ct);
    }
}

/// <summary>How orchestrators send alerts: the <see cref="SendAlert"/> activity with back-off, then a record of the
/// failure.</summary>
public static class DurableAlerts
{
    /// <summary>Delivery retries: <see cref="RetryPolicies.Alert"/>.</summary>
    public static TaskOptions Retry => RetryPolicies.Alert;

    /// <summary>Recording the give-up is a table write: <see cref="RetryPolicies.Storage"/>.</summary>
    private static TaskOptions RecordRetry => RetryPolicies.Storage;

    /// <summary>
    /// Sends <paramref name="request"/> durably; true when this call delivered it, false when it had been delivered
    /// (or given up) before or could not be delivered. A receiver that never answers costs the run nothing but the
    /// recorded failure: the orchestration goes on.
    /// </summary>
    /// <param name="context">The calling orchestration.</param>
    /// <param name="request">Alert and destination.</param>
    /// <param name="retry">Delivery retries; default <see cref="Retry"/>.</param>
    public static async Task<bool> SendAsync(
        TaskOrchestrationContext context,
        AlertRequest request,
        TaskOptions? retry = null
    )
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await context.CallActivityAsync<bool>(
                nameof(SendAlert),
                request with
                {
                    GiveUpReason = null,
                },
                retry ?? Retry
            );
        }
        catch (TaskFailedException e)
        {
            string reason = e.FailureDetails?.ErrorMessage ?? e.Message;
            try
            {
                await context.CallActivityAsync<bool>(
                    nameof(SendAlert),
                    request with
                    {
                        GiveUpReason = reason,
                    },
                    RecordRetry
                );
            }
            catch (TaskFailedException recordFailure)
            {
                // Storage is failing too: the error log is the only record left.
                context
                    .CreateReplaySafeLogger(nameof(DurableAlerts))
                    .LogError(
                        "Alert {Kind} for {Subject} was neither delivered ({Reason}) "
                            + "nor recorded ({RecordError}).",
                        request.Alert.Kind,
                        request.Alert.Subject,
                        reason,
                        recordFailure.Message
                    );
            }
            return false;
        }
    }
}
