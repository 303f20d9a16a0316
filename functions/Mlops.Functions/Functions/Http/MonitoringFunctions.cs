using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Handlers;
using Mlops.Functions.Hosting;
using Mlops.Pipelines.Monitoring;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// Monitoring over HTTP: ground-truth feedback (master key: labels steer retraining, so the key that predicts must not
/// be able to write them — issue 19), a monitor run on demand (master key),
/// the runs and their reports (function key).
/// </summary>
public sealed class MonitoringFunctions(MonitoringHandler handler)
{
    [Function("PostFeedback")]
    public async Task<IActionResult> PostFeedback(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/feedback")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) => await handler.PostFeedbackAsync(model, req.ContentType, req.Body, CallerIdentity.Of(req), cancellationToken);

    [Function("StartMonitor")]
    public async Task<IActionResult> StartMonitor(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/models/{model}/monitor")] HttpRequest req,
        string model,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => await handler.StartAsync(model, new DurableMonitorLauncher(client), cancellationToken);

    [Function("ListMonitorRuns")]
    public async Task<IActionResult> ListMonitorRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/monitoring")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) => await handler.ListAsync(model, req.Query["take"].FirstOrDefault(), cancellationToken);

    [Function("GetMonitorReport")]
    public async Task<IActionResult> GetMonitorReport(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/monitoring/{runId}")]
            HttpRequest req,
        string model,
        string runId,
        CancellationToken cancellationToken
    ) => await handler.GetReportAsync(model, runId, cancellationToken);

    [Function("GetMonitorReportHtml")]
    public async Task<IActionResult> GetMonitorReportHtml(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/monitoring/{runId}/report.html")]
            HttpRequest req,
        string model,
        string runId,
        CancellationToken cancellationToken
    ) => await handler.GetReportHtmlAsync(model, runId, cancellationToken);
}
