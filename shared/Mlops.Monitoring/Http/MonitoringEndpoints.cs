using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mlops.Core;
using Mlops.Core.Errors;

namespace Mlops.Monitoring.Http;

/// <summary>
/// Monitoring routes over <see cref="MonitoringApi"/> (needs it in DI):
/// <list type="bullet">
/// <item><c>POST /api/models/{model}/feedback</c> — JSON <c>{"labels":[{"predictionId","label"}]}</c> (≤ 10,000) or <c>text/csv</c>; answers the receipt.</item>
/// <item><c>POST /api/models/{model}/monitor</c> — starts a run now; 202 with its id.</item>
/// <item><c>GET /api/models/{model}/monitoring[?take=20]</c> — latest runs with their verdicts.</item>
/// <item><c>GET /api/models/{model}/monitoring/{runId}</c> — the report JSON; <c>…/{runId}/report.html</c> the page.</item>
/// </list>
/// Errors answer <c>{"error":{"code","message"}}</c> with the exception's status (4xx for bad input).
/// </summary>
public static class MonitoringEndpoints
{
    /// <summary>Maps the routes and returns the group (to add auth filters, e.g. function keys).</summary>
    public static RouteGroupBuilder MapMonitoring(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var g = endpoints.MapGroup("/api/models/{model}").WithTags("Monitoring").AddEndpointFilter(Errors);
        g.MapPost("/feedback", async (string model, HttpRequest request, MonitoringApi api, CancellationToken ct) =>
            Results.Json(await api.PostFeedbackAsync(model, request.ContentType, request.Body, ct), Json.Options));
        g.MapPost("/monitor", async (string model, MonitoringApi api, CancellationToken ct) =>
            Results.Json(await api.StartMonitorAsync(model, ct), Json.Options, statusCode: StatusCodes.Status202Accepted));
        g.MapGet("/monitoring", async (string model, string? take, MonitoringApi api, CancellationToken ct) =>
            Results.Json(await api.ListAsync(model, RequestQuery.OptionalPositiveInt("take", take) ?? 20, ct), Json.Options));
        g.MapGet("/monitoring/{runId}", async (string model, string runId, MonitoringApi api, CancellationToken ct) =>
            Results.Json(await api.GetReportAsync(model, runId, ct), Json.Options));
        g.MapGet("/monitoring/{runId}/report.html", async (string model, string runId, MonitoringApi api, CancellationToken ct) =>
            Results.Content(await api.GetReportHtmlAsync(model, runId, ct), "text/html; charset=utf-8"));
        return g;
    }

    private static async ValueTask<object?> Errors(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (MlopsException e)
        {
            return Results.Json(new { error = new { code = e.Code, message = e.Message } }, Json.Options, statusCode: e.Status);
        }
    }
}
