using System.Text;
using System.Text.Json;
using Mlops.Core.Storage;

namespace Mlops.Tracking;

/// <summary>
/// Reads what a trial wrote under <c>runs/{runId}/</c>: <c>result.json</c>, <c>params.json</c>, <c>metrics.jsonl</c>,
/// <c>env.json</c>, <c>evaluation.json</c>, <c>importance.json</c>, and a sweep's <c>runs/{pipeline}/sweep.json</c>.
/// Tolerant of older runs: a missing document or property is null, never an error.
/// </summary>
public sealed class RunArtifacts(IBlobStore blobs)
{
    /// <summary>The blob container of tracked runs.</summary>
    public const string Container = "runs";

    public const string ResultBlob = "result.json";
    public const string EvaluationBlob = "evaluation.json";
    public const string ImportanceBlob = "importance.json";

    /// <summary>A document of a run as parsed JSON, or null when the run has none.</summary>
    public async Task<JsonElement?> ReadJsonAsync(string runId, string name, CancellationToken cancellationToken = default)
    {
        var content = await blobs.ReadAsync(Container, $"{runId}/{name}", cancellationToken).ConfigureAwait(false);
        if (content is null || content.Data.Length == 0) return null;
        try { return JsonDocument.Parse(content.Data).RootElement.Clone(); }
        catch (JsonException) { return null; }
    }

    /// <summary>The sweep summary the pipeline writes next to its trials (method, trials, Pareto front, chosen), or null.</summary>
    public Task<JsonElement?> ReadSweepSummaryAsync(string pipeline, CancellationToken cancellationToken = default) =>
        ReadJsonAsync(pipeline, "sweep.json", cancellationToken);

    /// <summary>The per-round curve from <c>metrics.jsonl</c>; empty when the run has none.</summary>
    public async Task<IReadOnlyList<CurvePoint>> ReadCurveAsync(string runId, CancellationToken cancellationToken = default)
    {
        var content = await blobs.ReadAsync(Container, $"{runId}/metrics.jsonl", cancellationToken).ConfigureAwait(false);
        return content is null ? [] : ParseCurve(content.Data);
    }

    /// <summary>Parses <c>metrics.jsonl</c>: one JSON object per line; unreadable lines are skipped.</summary>
    public static IReadOnlyList<CurvePoint> ParseCurve(ReadOnlySpan<byte> jsonl)
    {
        var points = new List<CurvePoint>();
        foreach (string line in Encoding.UTF8.GetString(jsonl).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                var e = JsonDocument.Parse(line).RootElement;
                if (Number(e, "round") is not { } round || Number(e, "train") is not { } train) continue;
                points.Add(new CurvePoint((int)round, train, Number(e, "validation"), Number(e, "elapsed"), Text(e, "metric")));
            }
            catch (JsonException) { }
        }
        return points;
    }

    /// <summary>
    /// Builds the index record of a finished run from its blobs, or null when the run has no <c>result.json</c> yet.
    /// <paramref name="sweepMethod"/> comes from the pipeline when it records the trial; a rebuild reads it from
    /// <c>sweep.json</c> when the pipeline wrote one.
    /// </summary>
    public async Task<RunRecord?> LoadRecordAsync(string runId, string? sweepMethod = null, CancellationToken cancellationToken = default)
    {
        var info = await blobs.GetInfoAsync(Container, $"{runId}/{ResultBlob}", cancellationToken).ConfigureAwait(false);
        if (info is null || await ReadJsonAsync(runId, ResultBlob, cancellationToken).ConfigureAwait(false) is not { } result) return null;
        var parameters = await ReadJsonAsync(runId, "params.json", cancellationToken).ConfigureAwait(false);
        var curve = await ReadCurveAsync(runId, cancellationToken).ConfigureAwait(false);
        sweepMethod ??= await ReadSweepSummaryAsync(RunIds.Parse(runId).Pipeline, cancellationToken).ConfigureAwait(false) is { } sweep ? Text(sweep, "method") : null;
        return FromDocuments(runId, result, parameters, curve, sweepMethod, info.LastModified);
    }

    /// <summary>
    /// The index record from the documents a trial has just written (the bytes of <c>result.json</c>, <c>params.json</c>
    /// and <c>metrics.jsonl</c>), so recording a run reads nothing back from storage.
    /// </summary>
    public static RunRecord FromWritten(string runId, byte[] result, byte[] parameters, byte[] curveJsonl, string? sweepMethod, DateTimeOffset createdAt) =>
        FromDocuments(runId, JsonDocument.Parse(result).RootElement.Clone(), JsonDocument.Parse(parameters).RootElement.Clone(), ParseCurve(curveJsonl), sweepMethod, createdAt);

    /// <summary>The index record from the parsed documents (pure: the unit tests call it).</summary>
    public static RunRecord FromDocuments(string runId, JsonElement result, JsonElement? parameters, IReadOnlyList<CurvePoint> curve, string? sweepMethod, DateTimeOffset createdAt)
    {
        var p = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (result.TryGetProperty("params", out var requested) && requested.ValueKind == JsonValueKind.Object)
            foreach (var kv in requested.EnumerateObject()) p[kv.Name] = kv.Value.Clone();
        // The seed decides the split and the trainer's randomness: a parameter like any other for grouping.
        if (parameters is { } pj && pj.TryGetProperty("seed", out var seed) && !p.ContainsKey("seed")) p["seed"] = seed.Clone();
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (result.TryGetProperty("validationMetrics", out var vm) && vm.ValueKind == JsonValueKind.Object)
            foreach (var kv in vm.EnumerateObject())
                if (kv.Value.ValueKind == JsonValueKind.Number) metrics[kv.Name] = kv.Value.GetDouble();
        var (pipeline, trial, rung) = RunIds.Parse(runId);
        return new RunRecord
        {
            RunId = runId,
            Pipeline = pipeline,
            Trial = trial,
            Rung = rung,
            Dataset = parameters is { } a ? Text(a, "dataset") : null,
            Stage = parameters is { } b ? Text(b, "stage") : null,
            Task = parameters is { } c ? Text(c, "task") : null,
            Trainer = Text(result, "trainer"),
            SweepMethod = sweepMethod,
            Status = Text(result, "status") is { Length: > 0 } s ? s.ToLowerInvariant() : RunStatus.Completed,
            PrunedAtRound = Number(result, "prunedAtRound") is { } r ? (int)r : null,
            PruneReason = Text(result, "pruneReason"),
            CreatedAt = createdAt,
            TrainSeconds = Number(result, "trainSeconds"),
            PrimaryMetric = Text(result, "primaryMetric"),
            HigherIsBetter = result.TryGetProperty("higherIsBetter", out var h) && h.ValueKind is JsonValueKind.True or JsonValueKind.False ? h.GetBoolean() : null,
            Params = p,
            Metrics = metrics,
            Curves = CurveSummaries.Summarize(curve),
        };
    }

    internal static double? Number(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    internal static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
