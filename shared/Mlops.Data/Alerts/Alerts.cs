using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;

namespace Mlops.Data.Alerts;

/// <summary>How urgent an alert is (serialized lower-case, as webhook receivers read it).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    /// <summary>For the record (nothing to do).</summary>
    [JsonStringEnumMemberName("info")]
    Info,

    /// <summary>Someone should look: a gate rejection, drift, a retraining decision.</summary>
    [JsonStringEnumMemberName("warning")]
    Warning,

    /// <summary>Something stopped or was undone: quarantined data, a performance breach, an automatic
    /// rollback.</summary>
    [JsonStringEnumMemberName("error")]
    Error,
}

/// <summary>
/// The one alert record of the system: what every raiser (ingestion's validation, the training gate, the monitor,
/// serving's automatic rollback) sends and every sink delivers. Enough to act on, and a key to drop duplicates.
/// </summary>
/// <param name="Severity">How urgent.</param>
/// <param name="Kind">What raised it, e.g. <c>data_quarantined</c>, <c>gate_rejected</c>, <c>monitor_breach</c>,
/// <c>auto_rollback</c>.</param>
/// <param name="Signal">The measured signal, e.g. an anomaly code or a metric name.</param>
/// <param name="Message">One readable sentence.</param>
/// <param name="Dataset">Dataset concerned.</param>
/// <param name="Model">Model concerned (models are named after datasets; may be null for pure data alerts).</param>
/// <param name="Values">Observed values by name.</param>
/// <param name="Thresholds">Limits the values were compared with.</param>
/// <param name="ReportLink">Where the full report is (blob path or URL).</param>
/// <param name="Window">The monitoring window, data version or model version the alert is about (part of the dedup
/// key).</param>
/// <param name="Time">When it was raised.</param>
public sealed record Alert(
    AlertSeverity Severity,
    string Kind,
    string Signal,
    string Message,
    string? Dataset = null,
    string? Model = null,
    IReadOnlyDictionary<string, double>? Values = null,
    IReadOnlyDictionary<string, double>? Thresholds = null,
    string? ReportLink = null,
    string? Window = null,
    DateTimeOffset Time = default
)
{
    /// <summary>Same model (or dataset), signal and window → same key: receivers and retries use it to deliver
    /// once.</summary>
    public string DedupKey => $"{Model ?? Dataset}|{Signal}|{Window}";

    /// <summary>The model or dataset the alert is about (<c>-</c> when neither is set): the partition of its
    /// record.</summary>
    public string Subject => Model ?? Dataset ?? "-";
}

/// <summary>
/// Delivers alerts. A sink throws when an alert was not delivered (an <see cref="Core.Errors.MlopsException"/> with
/// code <c>alert.delivery_failed</c> for webhooks), so its caller — the durable <c>SendAlert</c> activity — can retry
/// with back-off and, once the retries are spent, record the failure. Sinks never swallow a failure themselves.
/// </summary>
public interface IAlertSink
{
    /// <summary>Delivers one alert; throws when it was not delivered.</summary>
    Task SendAsync(Alert alert, CancellationToken cancellationToken = default);
}

/// <summary>
/// Writes alerts to a logger: errors at <see cref="LogLevel.Error"/>, warnings at <see cref="LogLevel.Warning"/>,
/// the rest at <see cref="LogLevel.Information"/>. Never fails.
/// </summary>
public sealed class LogAlertSink(ILogger<LogAlertSink> logger) : IAlertSink
{
    /// <inheritdoc />
    public Task SendAsync(Alert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var level = alert.Severity switch
        {
            AlertSeverity.Error => LogLevel.Error,
            AlertSeverity.Warning => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        logger.Log(
            level,
            "Alert {Severity} {Kind} for {Subject} ({DedupKey}): {Message} Report: {ReportLink}",
            alert.Severity,
            alert.Kind,
            alert.Subject,
            alert.DedupKey,
            alert.Message,
            alert.ReportLink ?? "none"
        );
        return Task.CompletedTask;
    }
}

/// <summary>
/// Sends each alert to every sink (e.g. log + webhook), then throws if any of them failed: one sink's failure does not
/// keep the alert from the others, and is not hidden from the caller that retries. A retry sends to every sink again;
/// receivers drop the repeat by <see cref="Alert.DedupKey"/>.
/// </summary>
public sealed class CompositeAlertSink(IEnumerable<IAlertSink> sinks) : IAlertSink
{
    private readonly IAlertSink[] _sinks = sinks.ToArray();

    /// <summary>The sinks, in sending order.</summary>
    public IReadOnlyList<IAlertSink> Sinks => _sinks;

    /// <inheritdoc />
    /// <exception cref="AggregateException">One or more sinks failed (their exceptions inside).</exception>
    public async Task SendAsync(Alert alert, CancellationToken cancellationToken = default)
    {
        List<Exception>? failures = null;
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.SendAsync(alert, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
                when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                (failures ??= []).Add(ex);
            }
        }
        if (failures is { Count: 1 })
            throw failures[0];
        if (failures is not null)
            throw new AggregateException($"{failures.Count} alert sinks failed for {alert.DedupKey}.", failures);
    }
}

/// <summary>Discards alerts (tests, or when alerting is configured elsewhere).</summary>
public sealed class NullAlertSink : IAlertSink
{
    /// <summary>Shared instance.</summary>
    public static readonly NullAlertSink Instance = new();

    /// <inheritdoc />
    public Task SendAsync(Alert alert, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>Builds the alert sinks a host uses.</summary>
public static class AlertSinks
{
    /// <summary>
    /// The log sink, plus a <see cref="SafeWebhookSender"/> when <paramref name="alertWebhook"/> is set (the host-wide
    /// <c>MLOPS_ALERT_WEBHOOK</c>, or a dataset's <c>alertWebhook</c>).
    /// </summary>
    /// <exception cref="Core.Errors.MlopsException">The webhook URL is invalid (<see
    /// cref="WebhookUrl.InvalidCode"/>).</exception>
    public static IAlertSink Create(string? alertWebhook, ILoggerFactory loggers, WebhookOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        IAlertSink log = new LogAlertSink(loggers.CreateLogger<LogAlertSink>());
        if (string.IsNullOrWhiteSpace(alertWebhook))
            return log;
        return new CompositeAlertSink([
            log,
            new SafeWebhookSender(alertWebhook, options ?? WebhookOptions.FromEnvironment()),
        ]);
    }
}
