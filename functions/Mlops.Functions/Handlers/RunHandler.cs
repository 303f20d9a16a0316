using Mlops.Core.Errors;
using Mlops.Functions.Hosting;
using Mlops.Tracking;

namespace Mlops.Functions.Handlers;

/// <summary>
/// Experiment tracking over the run index (<see cref="RunQueries"/>): every trial of every pipeline as a table, one run
/// in full, comparisons, groups with mean ± std, a sweep's analysis, and reindexing runs older than the index.
/// </summary>
public sealed class RunHandler(RunQueries queries)
{
    /// <summary>Runs matching a filter expression, sorted and paged, with the columns present.</summary>
    public async Task<ApiResponse> ListAsync(
        string? filter,
        string? dataset,
        string? pipeline,
        string? status,
        string? orderBy,
        string? limit,
        string? offset,
        CancellationToken cancellationToken = default
    )
    {
        var query = new RunQuery(
            Text(filter),
            Text(dataset),
            Text(pipeline),
            Text(status),
            Text(orderBy),
            RequestQuery.OptionalPositiveInt("limit", Text(limit)) ?? 100,
            RequestQuery.NonNegativeInt("offset", Text(offset))
        );
        return ApiResponse.Json(await queries.ListAsync(query, cancellationToken));
    }

    /// <summary>2–10 runs side by side: differing params, metrics at a step, curves, ROC/PR.</summary>
    public async Task<ApiResponse> CompareAsync(
        string? ids,
        string? step,
        CancellationToken cancellationToken = default
    )
    {
        var list = (Text(ids) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int? at = Text(step) is { } s ? RequestQuery.NonNegativeInt("step", s) : null;
        return ApiResponse.Json(await queries.CompareAsync(list, at, cancellationToken));
    }

    /// <summary>Matching runs grouped by sweep, pipeline or a field, with mean ± std, min and max per metric.</summary>
    public async Task<ApiResponse> GroupAsync(
        string? by,
        string? filter,
        string? dataset,
        CancellationToken cancellationToken = default
    ) => ApiResponse.Json(await queries.GroupAsync(Text(by) ?? "", Text(filter), Text(dataset), cancellationToken));

    /// <summary>One run: index row, per-round curve, environment, lineage, evaluation curves, feature
    /// importance.</summary>
    public async Task<ApiResponse> GetAsync(string runId, CancellationToken cancellationToken = default) =>
        ApiResponse.Json(await queries.GetAsync(runId, cancellationToken));

    /// <summary>Indexes runs that have a result but no index row (runs older than the index).</summary>
    public async Task<ApiResponse> ReindexAsync(CancellationToken cancellationToken = default)
    {
        var (indexed, existing) = await queries.Index.ReindexAsync(cancellationToken);
        return ApiResponse.Json(new { indexed, existing });
    }

    /// <summary>A sweep: trials in order, optimization history, parameter importance, the pipeline's sweep
    /// summary.</summary>
    public async Task<ApiResponse> GetSweepAsync(string pipelineId, CancellationToken cancellationToken = default) =>
        ApiResponse.Json(await queries.SweepAsync(pipelineId, cancellationToken));

    private static string? Text(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
