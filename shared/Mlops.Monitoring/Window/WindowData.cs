using Mlops.Core.Statistics;
using Mlops.Monitoring.Reference;

namespace Mlops.Monitoring.Window;

/// <summary>One column of a production window, ready for drift and quality statistics.</summary>
public sealed class ColumnWindow
{
    internal ColumnWindow(
        FeatureReference reference,
        long rows,
        long present,
        long nulls,
        long typeErrors,
        double[]? sorted,
        Dictionary<string, long>? counts
    )
    {
        Reference = reference;
        Rows = rows;
        Present = present;
        Nulls = nulls;
        TypeErrors = typeErrors;
        Sorted = sorted;
        Counts = counts;
    }

    /// <summary>The training-time summary this column is compared with.</summary>
    public FeatureReference Reference { get; }

    /// <summary>Rows in the window.</summary>
    public long Rows { get; }

    /// <summary>Rows in which the column was sent at all.</summary>
    public long Present { get; }

    /// <summary>Explicit nulls.</summary>
    public long Nulls { get; }

    /// <summary>Values of the wrong type (text that is not a number for a numeric column, objects, arrays).</summary>
    public long TypeErrors { get; }

    /// <summary>Missing = absent or null.</summary>
    public long Missing => Rows - Present + Nulls;

    /// <summary>Numeric: valid values sorted ascending.</summary>
    public double[]? Sorted { get; }

    /// <summary>Categorical: value counts.</summary>
    public Dictionary<string, long>? Counts { get; }

    /// <summary>Valid values.</summary>
    public long Count => Sorted?.LongLength ?? Counts?.Values.Sum() ?? Present - Nulls - TypeErrors;

    /// <summary>Value counts for count-based tests: the categories, or numbers keyed as the reference keys
    /// them.</summary>
    public IReadOnlyDictionary<string, long> CountsForTest() => Counts ?? SortedValues.Counts(Sorted ?? []);

    internal static ColumnWindow From(ColumnAccumulator a, long rows) =>
        new(a.Reference, rows, a.Present, a.Nulls, a.TypeErrors, a.Numbers?.SortedArray(), a.Counts);
}

/// <summary>What a monitor run read from the prediction log for its window.</summary>
public sealed class WindowData
{
    private WindowData() { }

    /// <summary>Window start (inclusive).</summary>
    public DateTimeOffset From { get; private init; }

    /// <summary>Window end (exclusive).</summary>
    public DateTimeOffset To { get; private init; }

    /// <summary>Predicted rows in the window.</summary>
    public long Rows { get; private init; }

    /// <summary>Log lines (requests) in the window.</summary>
    public long Lines { get; private init; }

    /// <summary>Lines that were not valid JSON (skipped).</summary>
    public long MalformedLines { get; private init; }

    /// <summary>Rows logged without a prediction id (older servers).</summary>
    public long RowsWithoutId { get; private init; }

    /// <summary>Blobs read.</summary>
    public long Blobs { get; private init; }

    /// <summary>Bytes read.</summary>
    public long Bytes { get; private init; }

    /// <summary>Rows per model version.</summary>
    public IReadOnlyDictionary<int, long> Versions { get; private init; } = new Dictionary<int, long>();

    /// <summary>Columns sent that the model does not know, with their row counts.</summary>
    public IReadOnlyDictionary<string, long> UnknownColumns { get; private init; } = new Dictionary<string, long>();

    /// <summary>Model input columns, in reference order.</summary>
    public IReadOnlyList<ColumnWindow> Columns { get; private init; } = [];

    /// <summary>The output score (binary P(positive), multiclass winning probability, regression value).</summary>
    public ColumnWindow Score { get; private init; } = null!;

    /// <summary>Predicted classes (classification).</summary>
    public ColumnWindow PredictedLabels { get; private init; } = null!;

    /// <summary>Predictions whose ids had feedback labels.</summary>
    public IReadOnlyList<LabeledPrediction> Labeled { get; private init; } = [];

    /// <summary>
    /// Up to <see cref="WindowAccumulator.AttributionRows"/> input rows (raw JSON objects as logged), an
    /// order-independent pseudo-random sample of the window, kept when the reference has a registration-time
    /// attribution to compare with.
    /// </summary>
    public IReadOnlyList<string> SampledInputs { get; init; } = [];

    /// <summary>Time of the first and last line read.</summary>
    public (DateTimeOffset? First, DateTimeOffset? Last) Span { get; private init; }

    internal static WindowData Create(
        WindowAccumulator a,
        DateTimeOffset from,
        DateTimeOffset to,
        long malformed,
        long blobs,
        long bytes,
        int parallelism
    )
    {
        // Columns are finished in parallel: each is a sort of up to the window's row count.
        var columns = new ColumnWindow[a.Columns.Length];
        Parallel.For(0, columns.Length, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, i =>
            columns[i] = ColumnWindow.From(a.Columns[i], a.Rows)
        );
        return new WindowData
        {
            From = from,
            To = to,
            Rows = a.Rows,
            Lines = a.Lines,
            MalformedLines = malformed,
            RowsWithoutId = a.RowsWithoutId,
            Blobs = blobs,
            Bytes = bytes,
            Versions = a.Versions,
            UnknownColumns = a.UnknownColumns,
            Columns = columns,
            Score = ColumnWindow.From(a.Score, a.Rows),
            PredictedLabels = ColumnWindow.From(a.PredictedLabels, a.Rows),
            Labeled = a.Labeled,
            Span = (a.First, a.Last),
            SampledInputs = a.Sample?.Rows() ?? [],
        };
    }
}
