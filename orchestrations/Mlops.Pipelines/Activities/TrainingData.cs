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

    public async Task<DataTable> LoadAsync(
        string dataset,
        IReadOnlyList<string> hashes,
        CancellationToken cancellationToken = default
    )
    {
        string key = dataset + ":" + string.Join(",", hashes);
        lock (CacheGate)
        {
            var hit = Cache.FirstOrDefault(e => e.Key == key);
            if (hit.Table is not null)
                return hit.Table;
        }
        var tables = new List<DataTable>();
        foreach (var h in hashes)
            tables.Add(await LoadPartAsync(dataset, h, cancellationToken));
        var table = tables.Count == 1 ? tables[0] : DatasetStore.Concat(tables);
        lock (CacheGate)
        {
            Cache.AddFirst((key, table));
            while (Cache.Count > CacheEntries)
                Cache.RemoveLast();
        }
        return table;
    }

    /// <summary>Prefix of a training-set member that is a blob of labeled production rows rather than a dataset
    /// version.</summary>
    public const string FeedbackRowsPrefix = "labels:";

    private async Task<DataTable> LoadPartAsync(string dataset, string part, CancellationToken cancellationToken)
    {
        if (!part.StartsWith(FeedbackRowsPrefix, StringComparison.Ordinal))
            return await store.LoadTableAsync(dataset, part, cancellationToken);
        // trainOn ...+feedback: rows served in production with their ground-truth label (written by the monitor run).
        string blob = part[FeedbackRowsPrefix.Length..];
        var content = await blobs.ReadAsync(
            Mlops.Monitoring.Feedback.FeedbackStore.DefaultContainer,
            blob,
            cancellationToken
        )
            ?? throw new Mlops.Core.Errors.NotFoundException(
                "training.feedback_rows_missing",
                $"{Mlops.Monitoring.Feedback.FeedbackStore.DefaultContainer}/{blob} (labeled production rows) no longer exists."
            );
        return store.ParseTable(content.Data);
    }

    /// <summary>
    /// The rows a run trains and is judged on, when its training set may hold feedback rows (<c>trainOn
    /// ...+feedback</c>). The accepted dataset versions and the feedback rows are split separately with the same seed:
    /// the gate's trusted evidence is <see cref="SplitTrainingSet.Test"/>, held-out rows of accepted versions only —
    /// data the feedback path cannot write —, and <see cref="SplitTrainingSet.FeedbackTest"/> is scored beside it.
    /// Feedback rows make up at most
    /// <paramref name="maxFeedbackShare"/> of the training rows (a seeded sample of them when there are more).
    /// Every activity calls this with the same arguments, so Train, Evaluate and Register agree without passing data.
    /// </summary>
    public async Task<SplitTrainingSet> LoadSplitAsync(
        string dataset,
        IReadOnlyList<string> hashes,
        double testFraction,
        int seed,
        double maxFeedbackShare,
        CancellationToken cancellationToken = default
    )
    {
        var accepted = hashes.Where(h => !h.StartsWith(FeedbackRowsPrefix, StringComparison.Ordinal)).ToList();
        var feedback = hashes.Where(h => h.StartsWith(FeedbackRowsPrefix, StringComparison.Ordinal)).ToList();
        if (accepted.Count == 0)
            throw new Mlops.Core.Errors.MlopsException(
                "training.no_accepted_data",
                $"Dataset '{dataset}' has no accepted data version in this training set; feedback rows alone are never trained on."
            );
        var acceptedTable = await LoadAsync(dataset, accepted, cancellationToken);
        var (acceptedTrain, acceptedTest) = Split(acceptedTable, testFraction, seed);
        if (feedback.Count == 0)
            return new SplitTrainingSet(acceptedTrain, acceptedTest, null, 0, 0);

        var feedbackTable = await LoadAsync(dataset, feedback, cancellationToken);
        if (feedbackTable.RowCount < 2)
            return new SplitTrainingSet(acceptedTrain, acceptedTest, null, feedbackTable.RowCount, 0);
        var (feedbackTrain, feedbackTest) = Split(feedbackTable, testFraction, seed);
        int allowed = MaxFeedbackRows(acceptedTrain.RowCount, maxFeedbackShare);
        if (feedbackTrain.RowCount > allowed)
        {
            var order = Enumerable.Range(0, feedbackTrain.RowCount).ToArray();
            new Random(seed + 2).Shuffle(order);
            var keep = order[..allowed];
            Array.Sort(keep);
            feedbackTrain = feedbackTrain.SelectRows(keep);
        }
        // Accepted rows last: Concat takes column names and kinds from the last table, and the dataset's own columns
        // (slices, extra features) must survive; feedback rows lack them and read as missing.
        var train = feedbackTrain.RowCount == 0 ? acceptedTrain : DatasetStore.Concat([feedbackTrain, acceptedTrain]);
        return new SplitTrainingSet(train, acceptedTest, feedbackTest, feedbackTable.RowCount, feedbackTrain.RowCount);
    }

    /// <summary>The run's <c>monitoring.retrain.maxFeedbackShare</c> (default 0.2; a run without a retrain policy uses
    /// the default).</summary>
    public static double MaxFeedbackShare(Configuration.PipelineConfig config) =>
        Mlops.Monitoring.Policy.MonitoringOptions.Parse(config.Monitoring).Retrain?.MaxFeedbackShare
        ?? Mlops.Monitoring.Policy.RetrainOptions.DefaultMaxFeedbackShare;

    /// <summary>Most feedback rows that keep their share of the training rows at or below <paramref name="maxShare"/>
    /// (pure).</summary>
    public static int MaxFeedbackRows(int acceptedTrainRows, double maxShare)
    {
        if (maxShare <= 0)
            return 0;
        if (maxShare >= 1)
            return int.MaxValue;
        return (int)Math.Floor(acceptedTrainRows * maxShare / (1 - maxShare) + 1e-9);
    }

    /// <summary>Seeded shuffle split into (train, test). The same seed and row count always give the same
    /// split.</summary>
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

/// <summary>The rows of a run: what it trains on and what it is judged on (see <see
/// cref="TrainingData.LoadSplitAsync"/>).</summary>
/// <param name="Train">Training rows: accepted versions' training part plus the admitted feedback rows.</param>
/// <param name="Test">Held-out rows of accepted versions only: the gate's trusted evidence.</param>
/// <param name="FeedbackTest">Held-out feedback rows, scored beside the trusted test (null without feedback).</param>
/// <param name="FeedbackRowsOffered">Feedback rows the monitor run supplied.</param>
/// <param name="FeedbackRowsUsed">Feedback rows admitted to <see cref="Train"/> (after the share cap).</param>
public sealed record SplitTrainingSet(
    DataTable Train,
    DataTable Test,
    DataTable? FeedbackTest,
    int FeedbackRowsOffered,
    int FeedbackRowsUsed
);
