using Mlops.Data.Tabular;
using Mlops.Data.Versions;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Loads the rows a run trains on (one version, or the union of versions in append mode) and splits them the same way
/// in every activity: a seeded shuffle, so Train and Evaluate agree on which rows are held out without passing data.
/// A small per-process cache saves re-reading the CSV for each sweep trial; it is only an optimisation, never state.
/// </summary>
public sealed class TrainingData(DatasetStore store, Mlops.Core.Storage.IBlobStore blobs)
{
    private static readonly object CacheGate = new();
    private static readonly LinkedList<(string Key, DataTable Table)> Cache = new();
    private const int CacheEntries = 2;

    public async Task<DataTable> LoadAsync(string dataset, IReadOnlyList<string> hashes, CancellationToken cancellationToken = default)
    {
        string key = dataset + ":" + string.Join(",", hashes);
        lock (CacheGate)
        {
            var hit = Cache.FirstOrDefault(e => e.Key == key);
            if (hit.Table is not null) return hit.Table;
        }
        var tables = new List<DataTable>();
        foreach (var h in hashes) tables.Add(await LoadPartAsync(dataset, h, cancellationToken));
        var table = tables.Count == 1 ? tables[0] : DatasetStore.Concat(tables);
        lock (CacheGate)
        {
            Cache.AddFirst((key, table));
            while (Cache.Count > CacheEntries) Cache.RemoveLast();
        }
        return table;
    }

    /// <summary>Prefix of a training-set member that is a blob of labeled production rows rather than a dataset version.</summary>
    public const string FeedbackRowsPrefix = "labels:";

    private async Task<DataTable> LoadPartAsync(string dataset, string part, CancellationToken cancellationToken)
    {
        if (!part.StartsWith(FeedbackRowsPrefix, StringComparison.Ordinal)) return await store.LoadTableAsync(dataset, part, cancellationToken);
        // trainOn ...+feedback: rows served in production with their ground-truth label (written by the monitor run).
        string blob = part[FeedbackRowsPrefix.Length..];
        var content = await blobs.ReadAsync(Mlops.Monitoring.Feedback.FeedbackStore.DefaultContainer, blob, cancellationToken)
                      ?? throw new Mlops.Core.Errors.NotFoundException("training.feedback_rows_missing", $"{Mlops.Monitoring.Feedback.FeedbackStore.DefaultContainer}/{blob} (labeled production rows) no longer exists.");
        return store.ParseTable(content.Data);
    }

    /// <summary>Seeded shuffle split into (train, test). The same seed and row count always give the same split.</summary>
    public static (DataTable Train, DataTable Test) Split(DataTable table, double testFraction, int seed)
    {
        int n = table.RowCount;
        var order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        int testCount = Math.Clamp((int)Math.Round(n * testFraction), 1, Math.Max(1, n - 1));
        var test = order[..testCount];
        var train = order[testCount..];
        Array.Sort(test);
        Array.Sort(train);
        return (table.SelectRows(train), table.SelectRows(test));
    }
}
