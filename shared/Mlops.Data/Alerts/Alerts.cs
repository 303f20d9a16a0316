using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Mlops.Core;
using Mlops.Data.Validation;

namespace Mlops.Data.Alerts;

/// <summary>What an alert says about a dataset version: enough to act on without opening the report.</summary>
/// <param name="Dataset">Dataset name.</param>
/// <param name="Hash">Version hash.</param>
/// <param name="Outcome">Verdict.</param>
/// <param name="Summary">Markdown summary (<see cref="ValidationReport.ToSummary"/>).</param>
/// <param name="Anomalies">Errors and warnings (info omitted).</param>
/// <param name="SourceName">Name of the ingested file.</param>
/// <param name="ReportBlob">Where the full report is stored (<c>container/name</c>).</param>
/// <param name="Time">When the version was validated.</param>
public sealed record DataAlert(string Dataset, string Hash, ValidationOutcome Outcome, string Summary,
    IReadOnlyList<Anomaly> Anomalies, string? SourceName, string ReportBlob, DateTimeOffset Time);

/// <summary>Receives alerts about quarantined (and optionally warned) dataset versions. Implementations must not throw
/// for delivery failures: an alert that cannot be sent is logged, never allowed to fail ingestion.</summary>
public interface IAlertSink
{
    /// <summary>Delivers one alert (best effort).</summary>
    Task SendAsync(DataAlert alert, CancellationToken cancellationToken = default);
}

/// <summary>Writes alerts to a logger: warning level for quarantines, information for warnings.</summary>
public sealed class LogAlertSink(ILogger<LogAlertSink> logger) : IAlertSink
{
    /// <inheritdoc />
    public Task SendAsync(DataAlert alert, CancellationToken cancellationToken = default)
    {
        logger.Log(alert.Outcome == ValidationOutcome.Quarantined ? LogLevel.Warning : LogLevel.Information,
            "Data alert for {Dataset}/{Hash} ({Outcome}) from {Source}: {Summary}", alert.Dataset, alert.Hash, alert.Outcome, alert.SourceName, alert.Summary);
        return Task.CompletedTask;
    }
}

/// <summary>
/// POSTs the alert as JSON to a webhook (the <c>alertWebhook</c> setting: Teams/Slack relays, Logic Apps, PagerDuty
/// bridges). Bounded by a timeout; non-2xx answers, timeouts and network errors are logged and swallowed (ingestion must
/// not fail on an alert). Build it through <see cref="AlertSinks.Create"/> so the client is SSRF-safe; for delivery that
/// must succeed (retried by an activity), use <see cref="SafeWebhookSender.SendAsync"/>, which throws.
/// </summary>
public sealed class WebhookAlertSink : IAlertSink
{
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    /// <param name="http">Client to use (from IHttpClientFactory in the host).</param>
    /// <param name="url">Absolute http(s) URL.</param>
    /// <param name="timeout">Per-post limit; default 10 s.</param>
    /// <param name="logger">Where delivery failures go.</param>
    /// <exception cref="DataException">The URL is not absolute http(s) or the timeout is not positive (<c>data.options</c>).</exception>
    public WebhookAlertSink(HttpClient http, Uri url, ILogger<WebhookAlertSink> logger, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            throw new DataException("data.options", $"alertWebhook must be an absolute http(s) URL (was '{url}').");
        _timeout = timeout ?? TimeSpan.FromSeconds(10);
        if (_timeout <= TimeSpan.Zero) throw new DataException("data.options", "The alert webhook timeout must be positive.");
        _http = http;
        _url = url;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task SendAsync(DataAlert alert, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_timeout);
        try
        {
            // "text" makes the payload readable by Slack/Teams-style incoming webhooks as-is; the rest is for machines.
            var payload = new { text = alert.Summary, alert };
            using var response = await _http.PostAsJsonAsync(_url, payload, Json.Options, cts.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                _logger.LogWarning("Alert webhook {Url} answered {Status} for {Dataset}/{Hash}", _url, (int)response.StatusCode, alert.Dataset, alert.Hash);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning("Alert webhook {Url} timed out after {Timeout} for {Dataset}/{Hash}", _url, _timeout, alert.Dataset, alert.Hash);
        }
        catch (HttpRequestException ex)
        {
            _logger.LogWarning(ex, "Alert webhook {Url} failed for {Dataset}/{Hash}", _url, alert.Dataset, alert.Hash);
        }
    }
}

/// <summary>Sends each alert to several sinks in turn (e.g. log + webhook); one sink's failure does not stop the others.</summary>
public sealed class CompositeAlertSink(IEnumerable<IAlertSink> sinks, ILogger<CompositeAlertSink>? logger = null) : IAlertSink
{
    private readonly IAlertSink[] _sinks = sinks.ToArray();

    /// <inheritdoc />
    public async Task SendAsync(DataAlert alert, CancellationToken cancellationToken = default)
    {
        foreach (var s in _sinks)
        {
            try { await s.SendAsync(alert, cancellationToken).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger?.LogWarning(ex, "Alert sink {Sink} failed", s.GetType().Name);
            }
        }
    }
}

/// <summary>Discards alerts (tests, or when alerting is configured elsewhere).</summary>
public sealed class NullAlertSink : IAlertSink
{
    /// <summary>Shared instance.</summary>
    public static readonly NullAlertSink Instance = new();

    /// <inheritdoc />
    public Task SendAsync(DataAlert alert, CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>Builds the alert sink a host should use from configuration.</summary>
public static class AlertSinks
{
    /// <summary>
    /// Log sink, plus a <see cref="WebhookAlertSink"/> when <paramref name="alertWebhook"/> (the <c>alertWebhook</c>
    /// setting) is set. The webhook's client is the SSRF-safe one of <see cref="SafeWebhookSender.CreateClient"/>.
    /// </summary>
    /// <exception cref="Mlops.Core.Errors.MlopsException">The webhook URL is invalid (<see cref="WebhookUrl.InvalidCode"/>).</exception>
    public static IAlertSink Create(string? alertWebhook, ILoggerFactory loggers, WebhookOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        var sinks = new List<IAlertSink> { new LogAlertSink(loggers.CreateLogger<LogAlertSink>()) };
        if (!string.IsNullOrWhiteSpace(alertWebhook))
        {
            options ??= WebhookOptions.FromEnvironment();
            var url = WebhookUrl.Parse(alertWebhook, options.AllowHttp);
            sinks.Add(new WebhookAlertSink(SafeWebhookSender.CreateClient(options), url, loggers.CreateLogger<WebhookAlertSink>(), options.Timeout));
        }
        return sinks.Count == 1 ? sinks[0] : new CompositeAlertSink(sinks, loggers.CreateLogger<CompositeAlertSink>());
    }
}
