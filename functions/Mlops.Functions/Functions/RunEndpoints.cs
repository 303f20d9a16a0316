using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Tracking;

namespace Mlops.Functions.Functions;

/// <summary>
/// Experiment tracking over the run index (<see cref="RunQueries"/>): every trial of every pipeline as a table,
/// one run in full, comparisons, groups with mean ± std, and a sweep's analysis. Reads need a function key;
/// <c>POST /api/runs/reindex</c> (indexing runs older than the index) needs the master key.
/// </summary>
public static class RunEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/api/runs").WithTags("Runs");

        // GET /api/runs?filter=metrics.auc > 0.9 and params.num_leaves < 64&dataset=&pipeline=&status=&orderBy=metrics.auc desc&limit=100&offset=0
        runs.MapGet("", async (HttpRequest request, RunQueries queries, CancellationToken ct) =>
        {
            var q = request.Query;
            var query = new RunQuery(Text(q["filter"]), Text(q["dataset"]), Text(q["pipeline"]), Text(q["status"]), Text(q["orderBy"]),
                RequestQuery.OptionalPositiveInt("limit", Text(q["limit"])) ?? 100, RequestQuery.NonNegativeInt("offset", Text(q["offset"])));
            return Results.Json(await queries.ListAsync(query, ct), Json.Options);
        }).WithSummary("Runs matching a filter expression, sorted and paged, with the columns present.").Produces<RunList>();

        // GET /api/runs/compare?ids=a,b,c&step=50
        runs.MapGet("/compare", async (HttpRequest request, RunQueries queries, CancellationToken ct) =>
        {
            var ids = (Text(request.Query["ids"]) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int? step = Text(request.Query["step"]) is { } s ? RequestQuery.NonNegativeInt("step", s) : null;
            return Results.Json(await queries.CompareAsync(ids, step, ct), Json.Options);
        }).WithSummary("2–10 runs side by side: differing params, metrics at a step, curves, ROC/PR.").Produces<RunComparison>();

        // GET /api/runs/groups?by=sweep|pipeline|params.<name>[,…]&filter=&dataset=
        runs.MapGet("/groups", async (HttpRequest request, RunQueries queries, CancellationToken ct) =>
            Results.Json(await queries.GroupAsync(Text(request.Query["by"]) ?? "", Text(request.Query["filter"]), Text(request.Query["dataset"]), ct), Json.Options))
            .WithSummary("Matching runs grouped by sweep, pipeline or a field, with mean ± std, min and max per metric.").Produces<RunGroups>();

        runs.MapGet("/{runId}", async (string runId, RunQueries queries, CancellationToken ct) =>
            Results.Json(await queries.GetAsync(runId, ct), Json.Options))
            .WithSummary("One run: index row, per-round curve, environment, lineage, evaluation curves, feature importance.").Produces<RunDetail>();

        runs.MapPost("/reindex", async (RunQueries queries, CancellationToken ct) =>
        {
            var (indexed, existing) = await queries.Index.ReindexAsync(ct);
            return Results.Json(new { indexed, existing }, Json.Options);
        }).WithSummary("Indexes runs that have a result but no index row (runs older than the index).");

        app.MapGet("/api/sweeps/{pipelineId}", async (string pipelineId, RunQueries queries, CancellationToken ct) =>
            Results.Json(await queries.SweepAsync(pipelineId, ct), Json.Options))
            .WithTags("Runs").WithSummary("A sweep: trials in order, optimization history, parameter importance, the pipeline's sweep summary.").Produces<SweepView>();
    }

    private static string? Text(Microsoft.Extensions.Primitives.StringValues value) => string.IsNullOrWhiteSpace(value) ? null : value.ToString();
}
