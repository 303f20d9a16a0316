using System.Text;
using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Storage;

namespace Mlops.Tracking;

/// <summary>
/// Reads what a trial wrote under <c>runs/{runId}/</c> through the types <see cref="RunRecorder"/> writes them with:
/// <c>result.json</c> (<see cref="TrialResult"/>), <c>params.json</c> (<see cref="RunParameters"/>),
/// <c>metrics.jsonl</c> (<see cref="CurvePoint"/> lines), <c>env.json</c> (<see cref="RunEnvironment"/>), and a sweep's
/// <c>sweep.json</c> (<see cref="SweepRecord"/>); <c>evaluation.json</c> and <c>importance.json</c> are passed on as
/// JSON. Tolerant of older runs: a missing document or optional property is null, never an error.
/// </summary>
public sealed class RunArtifacts(IBlobStore blobs)
{
    /// <summary>The blob container of tracked runs.</summary>
    public const string Container = "runs";

    /// <summary>The outcome document; its presence means the run finished.</summary>
    public const string ResultBlob = RunRecorder.ResultBlob;

    /// <summary>ROC/PR/residual curves (<see cref="Evaluation.RunEvaluation"/>).</summary>
    public const string EvaluationBlob = "evaluation.json";

    /// <summary>Feature importance (<see cref="Evaluation.RunEvaluation"/>).</summary>
    public const string ImportanceBlob = "importance.json";

    /// <summary>A document of a run as parsed JSON, or null when the run has none (or it is not JSON).</summary>
    public async Task<JsonElement?> ReadJsonAsync(
        string runId,
        string name,
        CancellationToken cancellationToken = default
    )
    {
        var content = await blobs
            .ReadAsync(Container, RunRecorder.BlobName(runId, name), cancellationToken)
            .ConfigureAwait(false);
        if (content is null || content.Data.Length == 0)
            return null;
        try
        {
            return JsonDocument.Parse(content.Data).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A document of a run read as <typeparamref name="T"/>, or null when the run has none (or it is not JSON). JSON of
    /// another shape (an array where a run's object belongs) throws: such a run cannot be read as one.
    /// </summary>
    public async Task<T?> ReadAsync<T>(string runId, string name, CancellationToken cancellationToken = default)
        where T : class =>
        await ReadJsonAsync(runId, name, cancellationToken).ConfigureAwait(false) is { } json ? As<T>(json) : null;

    /// <summary>The run's outcome (<c>result.json</c>), or null while it has none.</summary>
    public Task<TrialResult?> ReadResultAsync(string runId, CancellationToken cancellationToken = default) =>
        ReadAsync<TrialResult>(runId, RunRecorder.ResultBlob, cancellationToken);

    /// <summary>What the run was asked to do (<c>params.json</c>), or null.</summary>
    public Task<RunParameters?> ReadParametersAsync(string runId, CancellationToken cancellationToken = default) =>
        ReadAsync<RunParameters>(runId, RunRecorder.ParamsBlob, cancellationToken);

    /// <summary>The sweep summary the pipeline writes next to its trials (method, trials, Pareto front, chosen), or
    /// null.</summary>
    public Task<JsonElement?> ReadSweepSummaryAsync(string pipeline, CancellationToken cancellationToken = default) =>
        ReadJsonAsync(pipeline, RunRecorder.SweepBlob, cancellationToken);

    /// <summary>The per-round curve from <c>metrics.jsonl</c>; empty when the run has none.</summary>
    public async Task<IReadOnlyList<CurvePoint>> ReadCurveAsync(
        string runId,
        CancellationToken cancellationToken = default
    )
    {
        var content = await blobs
            .ReadAsync(Container, RunRecorder.BlobName(runId, RunRecorder.CurveBlob), cancellationToken)
            .ConfigureAwait(false);
        return content is null ? [] : ParseCurve(content.Data);
    }

    /// <summary>Parses <c>metrics.jsonl</c>: one <see cref="CurvePoint"/> per line; unreadable lines are
    /// skipped.</summary>
    public static IReadOnlyList<CurvePoint> ParseCurve(ReadOnlySpan<byte> jsonl)
    {
        var points = new List<CurvePoint>();
        foreach (
            string line in Encoding
                .UTF8.GetString(jsonl)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        )
        {
            try
            {
                if (Json.Deserialize<CurvePoint>(line) is { } point)
                    points.Add(point);
            }
            catch (JsonException) { } // not a point (no round or train value, or not JSON): older or hand-made lines
        }
        return points;
    }

    /// <summary>
    /// Builds the index record of a finished run from its blobs, or null when the run has no <c>result.json</c> yet.
    /// <paramref name="sweepMethod"/> comes from the pipeline when it records the trial; a rebuild reads it from
    /// <c>sweep.json</c> when the pipeline wrote one.
    /// </summary>
    public async Task<RunRecord?> LoadRecordAsync(
        string runId,
        string? sweepMethod = null,
        CancellationToken cancellationToken = default
    )
    {
        var info = await blobs
            .GetInfoAsync(Container, RunRecorder.BlobName(runId, ResultBlob), cancellationToken)
            .ConfigureAwait(false);
        if (info is null || await ReadResultAsync(runId, cancellationToken).ConfigureAwait(false) is not { } result)
            return null;
        var parameters = await ReadParametersAsync(runId, cancellationToken).ConfigureAwait(false);
        var curve = await ReadCurveAsync(runId, cancellationToken).ConfigureAwait(false);
        sweepMethod ??= (
            await ReadAsync<SweepRecord>(RunIds.Parse(runId).Pipeline, RunRecorder.SweepBlob, cancellationToken)
                .ConfigureAwait(false)
        )?.Method;
        return FromDocuments(runId, result, parameters, curve, sweepMethod, info.LastModified);
    }

    /// <summary>
    /// The index record from the documents a trial has just written (the bytes of <c>result.json</c>,
    /// <c>params.json</c> and <c>metrics.jsonl</c>), so recording a run reads nothing back from storage.
    /// </summary>
    public static RunRecord FromWritten(
        string runId,
        byte[] result,
        byte[] parameters,
        byte[] curveJsonl,
        string? sweepMethod,
        DateTimeOffset createdAt
    ) =>
        FromDocuments(
            runId,
            Json.Deserialize<TrialResult>(result)!,
            Json.Deserialize<RunParameters>(parameters),
            ParseCurve(curveJsonl),
            sweepMethod,
            createdAt
        );

    /// <summary>The index record from the run's documents (pure: the unit tests call it).</summary>
    public static RunRecord FromDocuments(
        string runId,
        TrialResult result,
        RunParameters? parameters,
        IReadOnlyList<CurvePoint> curve,
        string? sweepMethod,
        DateTimeOffset createdAt
    )
    {
        ArgumentNullException.ThrowIfNull(result);
        var p = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, value) in result.Params ?? Enumerable.Empty<KeyValuePair<string, JsonElement>>())
            p[name] = value.Clone();
        // The seed decides the split and the trainer's randomness: a parameter like any other for grouping.
        if (parameters?.Seed is { } seed && !p.ContainsKey("seed"))
            p["seed"] = JsonSerializer.SerializeToElement(seed);
        // Undefined metrics (AUC on one class is NaN) are left out, as the index always has: filters compare numbers.
        var metrics = (result.ValidationMetrics ?? Enumerable.Empty<KeyValuePair<string, double>>())
            .Where(m => double.IsFinite(m.Value))
            .ToDictionary(StringComparer.Ordinal);
        var (pipeline, trial, rung) = RunIds.Parse(runId);
        return new RunRecord
        {
            RunId = runId,
            Pipeline = pipeline,
            Trial = trial,
            Rung = rung,
            Dataset = parameters?.Dataset,
            Stage = parameters?.Stage,
            Task = parameters?.Task,
            Trainer = result.Trainer,
            SweepMethod = sweepMethod,
            Status = result.Status is { Length: > 0 } s ? s.ToLowerInvariant() : RunStatus.Completed,
            PrunedAtRound = result.PrunedAtRound,
            PruneReason = result.PruneReason,
            CreatedAt = createdAt,
            TrainSeconds = result.TrainSeconds,
            PrimaryMetric = result.PrimaryMetric,
            HigherIsBetter = result.HigherIsBetter,
            Params = p,
            Metrics = metrics,
            Curves = CurveSummaries.Summarize(curve),
        };
    }

    /// <summary>A parsed document as <typeparamref name="T"/> (the app's JSON options: camelCase).</summary>
    internal static T? As<T>(JsonElement json) => json.Deserialize<T>(Json.Options);
}
