using System.Text.Json;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Tracking.Analysis;
using Mlops.Tracking.Query;

namespace Mlops.Tracking;

/// <summary>Criteria of a runs listing (the query string of <c>GET /api/runs</c>).</summary>
public sealed record RunQuery(
    string? Filter = null,
    string? Dataset = null,
    string? Pipeline = null,
    string? Status = null,
    string? OrderBy = null,
    int Limit = 100,
    int Offset = 0
)
{
    /// <summary>The largest page: the runs table shows 10,000 rows.</summary>
    public const int MaxLimit = 10_000;
}

/// <summary>
/// Answers the runs API and the <c>mlops runs</c> commands: listing with a filter, one run in full, comparison,
/// grouping and a sweep's analysis. Lists come from the index table; only the pages of single runs read blobs.
/// </summary>
public sealed class RunQueries(RunIndex index)
{
    public RunQueries(StorageServices storage)
        : this(new RunIndex(storage)) { }

    public RunIndex Index { get; } = index;

    /// <summary>The runs matching <paramref name="query"/>, sorted and paged, with the total and the columns
    /// present.</summary>
    public async Task<RunList> ListAsync(RunQuery query, CancellationToken cancellationToken = default)
    {
        int limit = query.Limit is < 1 or > RunQuery.MaxLimit
            ? throw new MlopsException("runs.bad_limit", $"limit must be between 1 and {RunQuery.MaxLimit}.")
            : query.Limit;
        if (query.Offset < 0)
            throw new MlopsException("runs.bad_offset", "offset must be 0 or more.");
        var matching = await MatchingAsync(query.Filter, query.Dataset, query.Pipeline, query.Status, cancellationToken)
            .ConfigureAwait(false);
        var ordered = RunAnalysis.Order(matching, query.OrderBy);
        return new RunList(
            ordered.Count,
            query.Offset,
            limit,
            ordered.Skip(query.Offset).Take(limit).ToList(),
            RunAnalysis.Columns(ordered)
        );
    }

    /// <summary>The runs matching a filter and the plain criteria (a pipeline is one partition; otherwise the whole
    /// index).</summary>
    public async Task<List<RunRecord>> MatchingAsync(
        string? filter,
        string? dataset = null,
        string? pipeline = null,
        string? status = null,
        CancellationToken cancellationToken = default
    )
    {
        var predicate = RunFilter.Parse(filter); // before any I/O: a bad expression is a 400 at once
        var runs = pipeline is null
            ? await Index.ListAllAsync(cancellationToken).ConfigureAwait(false)
            : await Index
                .ListPipelineAsync(RunIds.Check(pipeline, "pipeline id"), cancellationToken)
                .ConfigureAwait(false);
        return runs.Where(r =>
                (dataset is null || string.Equals(r.Dataset, dataset, StringComparison.Ordinal))
                && (status is null || string.Equals(r.Status, status, StringComparison.OrdinalIgnoreCase))
                && predicate.Matches(r)
            )
            .ToList();
    }

    /// <summary>One run with its curve, environment, lineage, evaluation and importance; 404 when there is no such
    /// run.</summary>
    public async Task<RunDetail> GetAsync(string runId, CancellationToken cancellationToken = default)
    {
        var record = await RequireAsync(runId, cancellationToken).ConfigureAwait(false);
        var artifacts = Index.Artifacts;
        var curve = artifacts.ReadCurveAsync(runId, cancellationToken);
        var env = artifacts.ReadJsonAsync(runId, RunRecorder.EnvironmentBlob, cancellationToken);
        var parameters = artifacts.ReadParametersAsync(runId, cancellationToken);
        var evaluation = artifacts.ReadJsonAsync(runId, RunArtifacts.EvaluationBlob, cancellationToken);
        var importance = artifacts.ReadJsonAsync(runId, RunArtifacts.ImportanceBlob, cancellationToken);
        await Task.WhenAll(curve, env, parameters, evaluation, importance).ConfigureAwait(false);
        return new RunDetail(record)
        {
            Curve = curve.Result,
            Env = env.Result,
            Lineage = Lineage(record, parameters.Result, env.Result),
            Evaluation = evaluation.Result,
            Importance = importance.Result,
        };
    }

    /// <summary>2–10 runs side by side: the parameters that differ, each run's metrics at <paramref name="step"/>,
    /// curves and ROC/PR points.</summary>
    public async Task<RunComparison> CompareAsync(
        IReadOnlyList<string> runIds,
        int? step,
        CancellationToken cancellationToken = default
    )
    {
        var ids = runIds.Select(id => id.Trim()).Where(id => id.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count is < 2 or > 10)
            throw new MlopsException(
                "runs.compare_count",
                $"Compare takes 2 to 10 distinct run ids (ids=a,b,…); got {ids.Count}."
            );
        var compared = await Task.WhenAll(
                ids.Select(async id =>
                {
                    var record = await RequireAsync(id, cancellationToken).ConfigureAwait(false);
                    var curve = await Index.Artifacts.ReadCurveAsync(id, cancellationToken).ConfigureAwait(false);
                    var evaluation = await Index
                        .Artifacts.ReadJsonAsync(id, RunArtifacts.EvaluationBlob, cancellationToken)
                        .ConfigureAwait(false);
                    return new ComparedRun(record)
                    {
                        Curve = curve,
                        Roc = Property(evaluation, "roc"),
                        Pr = Property(evaluation, "pr"),
                    };
                })
            )
            .ConfigureAwait(false);
        int? at = step ?? (compared.SelectMany(c => c.Curve).Select(p => (int?)p.Round).Max());
        var atStep = at is { } s ? RunAnalysis.AtStep(compared.Select(c => (c.RunId, c.Curve)), s) : [];
        return new RunComparison(compared, RunAnalysis.ParamDiff(compared), at, atStep);
    }

    /// <summary>Matching runs grouped by <paramref name="by"/> (comma-separated keys), with mean ± std per
    /// metric.</summary>
    public async Task<RunGroups> GroupAsync(
        string by,
        string? filter,
        string? dataset = null,
        CancellationToken cancellationToken = default
    )
    {
        var keys = (by ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (keys.Length > 0)
            foreach (var k in keys.Where(k => k != "sweep"))
                RunField.Parse(k); // a bad key is a 400 before any I/O
        var runs = await MatchingAsync(filter, dataset, cancellationToken: cancellationToken).ConfigureAwait(false);
        return RunAnalysis.Group(runs, keys);
    }

    /// <summary>A sweep's page: trials in order, history, parameter importance, and the pipeline's
    /// sweep.json.</summary>
    public async Task<SweepView> SweepAsync(string pipelineId, CancellationToken cancellationToken = default)
    {
        RunIds.Check(pipelineId, "pipeline id");
        var runs = await Index.ListPipelineAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        var summary = await Index.Artifacts.ReadSweepSummaryAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        if (runs.Count == 0 && summary is null)
            throw new NotFoundException(
                "runs.sweep_not_found",
                $"No runs are indexed for pipeline '{pipelineId}' (POST /api/runs/reindex indexes older runs)."
            );
        return SweepAnalysis.Analyze(pipelineId, runs, summary);
    }

    private async Task<RunRecord> RequireAsync(string runId, CancellationToken cancellationToken) =>
        await Index.GetAsync(RunIds.Check(runId), cancellationToken).ConfigureAwait(false)
        ?? throw new NotFoundException("runs.not_found", $"There is no run '{runId}' (no runs/{runId}/result.json).");

    private static RunLineage Lineage(RunRecord record, RunParameters? parameters, JsonElement? env) =>
        new(
            parameters?.DataVersions?.ToList() ?? [],
            env is { } e ? RunArtifacts.As<RunEnvironment>(e)?.CodeVersion : null,
            record.Pipeline,
            record.SweepMethod,
            record.Stage,
            parameters?.Target,
            parameters?.Seed is { } seed ? JsonSerializer.SerializeToElement(seed) : null
        );

    private static JsonElement? Property(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) ? v : null;
}
