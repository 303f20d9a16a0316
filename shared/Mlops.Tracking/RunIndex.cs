using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Storage;

namespace Mlops.Tracking;

/// <summary>
/// The run index: one table row per finished trial (partition = pipeline, row = run id) holding what the runs table
/// shows and filters on. Written when a trial finishes; rebuilt from the blobs for runs that predate it.
/// </summary>
public sealed class RunIndex(IBlobStore blobs, ITableStore tables, IClock? clock = null)
{
    /// <summary>The index table.</summary>
    public const string Table = "runs";

    private readonly IClock _clock = clock ?? SystemClock.Instance;
    private readonly RunSnapshot _snapshot = new(tables, clock ?? SystemClock.Instance);

    public RunIndex(StorageServices storage)
        : this(storage.Blobs, storage.Tables) { }

    /// <summary>The run's blobs.</summary>
    public RunArtifacts Artifacts { get; } = new(blobs);

    /// <summary>
    /// Indexes a finished trial from what it wrote under <c>runs/{runId}/</c> (result, params, curve). Idempotent (an
    /// upsert of the same row), so an activity retry may call it again. Returns the record, or null when the run has
    /// no result yet.
    /// </summary>
    public async Task<RunRecord?> RecordAsync(
        string runId,
        string? sweepMethod = null,
        CancellationToken cancellationToken = default
    )
    {
        var record = await Artifacts.LoadRecordAsync(runId, sweepMethod, cancellationToken).ConfigureAwait(false);
        if (record is not null)
            await WriteAsync(record, cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>
    /// Indexes a trial from the documents it has just written (see <see cref="RunArtifacts.FromWritten"/>): the same
    /// row as <see cref="RecordAsync(string, string?, CancellationToken)"/> without reading the blobs back.
    /// </summary>
    public async Task<RunRecord> RecordWrittenAsync(
        string runId,
        byte[] result,
        byte[] parameters,
        byte[] curveJsonl,
        string? sweepMethod,
        CancellationToken cancellationToken = default
    )
    {
        var record = RunArtifacts.FromWritten(runId, result, parameters, curveJsonl, sweepMethod, _clock.UtcNow);
        await WriteAsync(record, cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>Writes a record as it is, to the index and to its change feed.</summary>
    public async Task WriteAsync(RunRecord record, CancellationToken cancellationToken = default)
    {
        var row = ToRow(record);
        await tables.UpsertAsync(Table, row, cancellationToken).ConfigureAwait(false);
        await tables
            .UpsertAsync(RunSnapshot.ChangesTable, _snapshot.FeedRow(row), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Writes many records (benchmarks, bulk imports), batched per partition (≤ 100 per batch).</summary>
    public async Task WriteManyAsync(IEnumerable<RunRecord> records, CancellationToken cancellationToken = default)
    {
        var rows = records.Select(ToRow).ToList();
        await WriteBatchesAsync(Table, rows, cancellationToken).ConfigureAwait(false);
        await WriteBatchesAsync(RunSnapshot.ChangesTable, rows.Select(_snapshot.FeedRow).ToList(), cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task WriteBatchesAsync(
        string table,
        IReadOnlyList<TableRow> rows,
        CancellationToken cancellationToken
    )
    {
        foreach (var partition in rows.GroupBy(r => r.PartitionKey))
        foreach (var chunk in partition.Chunk(100))
        {
            var batch = new TableBatch();
            foreach (var r in chunk)
                batch.Upsert(r);
            await tables.ExecuteBatchAsync(table, batch, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One run by id: a point read; a run that finished before the index existed is indexed now from its
    /// blobs.</summary>
    public async Task<RunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default)
    {
        var row = await tables
            .GetAsync(Table, RunIds.Parse(runId).Pipeline, runId, cancellationToken)
            .ConfigureAwait(false);
        return row is not null
            ? FromRow(row)
            : await RecordAsync(runId, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every run of one pipeline (a sweep): one partition query.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListPipelineAsync(
        string pipeline,
        CancellationToken cancellationToken = default
    ) =>
        (await tables.QueryAsync(Table, pipeline, cancellationToken: cancellationToken).ConfigureAwait(false))
            .Select(FromRow)
            .ToList();

    /// <summary>
    /// Every indexed run, no blob reads: the first call scans the index table; later calls on this instance read only
    /// the change feed since the previous one (<see cref="RunSnapshot"/>).
    /// </summary>
    public Task<IReadOnlyList<RunRecord>> ListAllAsync(CancellationToken cancellationToken = default) =>
        _snapshot.ListAsync(FromRow, cancellationToken);

    /// <summary>
    /// Indexes every run under <c>runs/</c> that has a result but no index row (runs older than the index, or a trial
    /// that died between writing its result and its row). Returns how many were indexed and how many were already
    /// there.
    /// </summary>
    public async Task<(int Indexed, int Existing)> ReindexAsync(CancellationToken cancellationToken = default)
    {
        var report = await ReindexWithReportAsync(cancellationToken).ConfigureAwait(false);
        return (report.Indexed, report.Existing);
    }

    /// <summary>
    /// As <see cref="ReindexAsync"/>, and a run whose documents cannot be read as a run (bad JSON, numbers out of
    /// range, a hand-made blob) is skipped and reported rather than failing the whole rebuild.
    /// </summary>
    public async Task<ReindexReport> ReindexWithReportAsync(CancellationToken cancellationToken = default)
    {
        var known = (await tables.QueryAllAsync(Table, cancellationToken).ConfigureAwait(false))
            .Select(r => r.RowKey)
            .ToHashSet(StringComparer.Ordinal);
        int indexed = 0,
            existing = 0;
        var skipped = new List<string>();
        await foreach (
            var blob in blobs
                .ListAsync(RunArtifacts.Container, cancellationToken: cancellationToken)
                .ConfigureAwait(false)
        )
        {
            if (!blob.Name.EndsWith("/" + RunArtifacts.ResultBlob, StringComparison.Ordinal))
                continue;
            string runId = blob.Name[..^(RunArtifacts.ResultBlob.Length + 1)];
            if (runId.Contains('/') || !RunIds.IsValid(runId))
                continue;
            if (known.Contains(runId))
            {
                existing++;
                continue;
            }
            try
            {
                if (await RecordAsync(runId, cancellationToken: cancellationToken).ConfigureAwait(false) is not null)
                    indexed++;
            }
            catch (Exception e) when (e is not OperationCanceledException and not StorageUnavailableException)
            {
                skipped.Add($"{RunArtifacts.Container}/{blob.Name}: {e.Message}");
            }
        }
        return new ReindexReport(indexed, existing, skipped);
    }

    internal static TableRow ToRow(RunRecord r)
    {
        var row = new TableRow(r.Pipeline, r.RunId)
        {
            ["Dataset"] = r.Dataset,
            ["Trial"] = r.Trial,
            ["Rung"] = r.Rung,
            ["SweepMethod"] = r.SweepMethod,
            ["Stage"] = r.Stage,
            ["Trainer"] = r.Trainer,
            ["Task"] = r.Task,
            ["Status"] = r.Status,
            ["PrunedAtRound"] = r.PrunedAtRound,
            ["PruneReason"] = r.PruneReason,
            ["CreatedAt"] = r.CreatedAt,
            ["TrainSeconds"] = r.TrainSeconds,
            ["PrimaryMetric"] = r.PrimaryMetric,
            ["HigherIsBetter"] = r.HigherIsBetter,
            ["Params"] = Json.Serialize(r.Params),
            ["Metrics"] = Json.Serialize(r.Metrics),
            ["Curves"] = Json.Serialize(r.Curves),
        };
        foreach (var key in row.Properties.Where(kv => kv.Value is null).Select(kv => kv.Key).ToList())
            row.Properties.Remove(key);
        return row;
    }

    internal static RunRecord FromRow(TableRow row) =>
        new()
        {
            RunId = row.RowKey,
            Pipeline = row.PartitionKey,
            Dataset = row.GetString("Dataset"),
            Trial = (int?)row.GetLong("Trial"),
            Rung = (int?)row.GetLong("Rung"),
            SweepMethod = row.GetString("SweepMethod"),
            Stage = row.GetString("Stage"),
            Trainer = row.GetString("Trainer"),
            Task = row.GetString("Task"),
            Status = row.GetString("Status") ?? RunStatus.Completed,
            PrunedAtRound = (int?)row.GetLong("PrunedAtRound"),
            PruneReason = row.GetString("PruneReason"),
            CreatedAt = row.GetDate("CreatedAt"),
            TrainSeconds = row.GetDouble("TrainSeconds"),
            PrimaryMetric = row.GetString("PrimaryMetric"),
            HigherIsBetter = row.GetBool("HigherIsBetter"),
            Params = ParseParams(row.GetString("Params")),
            Metrics = Parse<Dictionary<string, double>>(row, "Metrics"),
            Curves = Parse<Dictionary<string, CurveSummary>>(row, "Curves"),
        };

    /// <summary>One JSON document per row shared by its values (deserializing to JsonElement would make one per
    /// value).</summary>
    private static Dictionary<string, JsonElement> ParseParams(string? json)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(json))
            return result;
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement.Clone();
        if (root.ValueKind == JsonValueKind.Object)
            foreach (var p in root.EnumerateObject())
                result[p.Name] = p.Value;
        return result;
    }

    private static T Parse<T>(TableRow row, string name)
        where T : new() => row.GetString(name) is { Length: > 0 } s ? Json.Deserialize<T>(s) ?? new T() : new T();
}

/// <summary>What a rebuild of the run index did.</summary>
/// <param name="Indexed">Runs added to the index.</param>
/// <param name="Existing">Runs already indexed.</param>
/// <param name="Skipped">Runs whose documents could not be read as a run, one sentence each (blob and reason).</param>
public sealed record ReindexReport(int Indexed, int Existing, IReadOnlyList<string> Skipped);
