using Mlops.Core.Errors;
using Mlops.Functions.Hosting;
using Mlops.Monitoring;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Http;

namespace Mlops.Functions.Handlers;

/// <summary>
/// Monitoring over <see cref="MonitoringApi"/>: ground-truth feedback, monitor runs on demand, their listing and
/// reports. Starting a run needs the invocation's durable client, so the launcher is passed per call.
/// </summary>
public sealed class MonitoringHandler(
    FeedbackStore feedback,
    MonitoringStore store,
    IMonitoringSource source,
    Mlops.Monitoring.Window.IssuedPredictions issued,
    Mlops.Core.IClock clock
)
{
    /// <summary>The monitoring API for the operations that start nothing (feedback, listings, reports).</summary>
    public MonitoringApi PlainApi => new(feedback, store, NoLauncher.Instance, source, issued, clock);

    /// <summary>Ingests a feedback batch: JSON <c>{"labels":[{"predictionId","label"}]}</c> (≤ 10,000) or
    /// <c>text/csv</c>.</summary>
    public async Task<ApiResponse> PostFeedbackAsync(
        string model,
        string? contentType,
        Stream body,
        string callerKey,
        CancellationToken cancellationToken = default
    ) => ApiResponse.Json(await PlainApi.PostFeedbackAsync(model, contentType, body, callerKey, cancellationToken));

    /// <summary>Starts a run now through <paramref name="launcher"/> (the invocation's durable client): 202 with its
    /// id.</summary>
    public async Task<ApiResponse> StartAsync(
        string model,
        IMonitorLauncher launcher,
        CancellationToken cancellationToken = default
    ) =>
        ApiResponse.Json(
            await new MonitoringApi(feedback, store, launcher, source, issued, clock).StartMonitorAsync(
                model,
                cancellationToken
            ),
            202
        );

    /// <summary>The latest runs (<c>?take=</c>, default 20) with their verdicts.</summary>
    public async Task<ApiResponse> ListAsync(
        string model,
        string? take,
        CancellationToken cancellationToken = default
    ) =>
        ApiResponse.Json(
            await PlainApi.ListAsync(model, RequestQuery.OptionalPositiveInt("take", take) ?? 20, cancellationToken)
        );

    /// <summary>A run's report JSON.</summary>
    public async Task<ApiResponse> GetReportAsync(
        string model,
        string runId,
        CancellationToken cancellationToken = default
    ) => ApiResponse.Json(await PlainApi.GetReportAsync(model, runId, cancellationToken));

    /// <summary>A run's HTML report.</summary>
    public async Task<ApiResponse> GetReportHtmlAsync(
        string model,
        string runId,
        CancellationToken cancellationToken = default
    ) =>
        ApiResponse
            .Text(await PlainApi.GetReportHtmlAsync(model, runId, cancellationToken), "text/html; charset=utf-8")
            // The report is served on the dashboard's origin: it may show itself (inline styles), never run a script,
            // load anything or be framed.
            .WithHeader("Content-Security-Policy", ReportPolicy);

    /// <summary>The monitoring report's Content-Security-Policy: static HTML with inline styles only.</summary>
    public const string ReportPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>For the operations that start nothing: a launcher that says so if it is ever called.</summary>
    private sealed class NoLauncher : IMonitorLauncher
    {
        public static readonly NoLauncher Instance = new();

        public Task<string> StartMonitorAsync(string model, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("This operation does not start monitor runs.");
    }
}
