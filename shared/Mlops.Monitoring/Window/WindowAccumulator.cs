using System.Runtime.InteropServices;
using Mlops.Monitoring.Reference;

namespace Mlops.Monitoring.Window;

/// <summary>A growable array of doubles (a List without the bounds checks and with span access).</summary>
internal sealed class DoubleBuffer
{
    private double[] _items = new double[1024];
    public int Count { get; private set; }

    public void Add(double v)
    {
        if (Count == _items.Length)
            Array.Resize(ref _items, _items.Length * 2);
        _items[Count++] = v;
    }

    public ReadOnlySpan<double> Span => _items.AsSpan(0, Count);
}

/// <summary>
/// The numbers of one column as the segments the reader threads filled. Merging threads' results only links segments;
/// the one copy happens at the end into an array of the exact size, column by column, so the peak stays near one copy
/// of the window's values.
/// </summary>
internal sealed class NumberSegments
{
    private readonly List<DoubleBuffer> _segments = [new DoubleBuffer()];

    public void Add(double v) => _segments[^1].Add(v);

    public void Merge(NumberSegments other) => _segments.AddRange(other._segments);

    /// <summary>All values in one array sorted ascending; the segments are released.</summary>
    public double[] SortedArray()
    {
        var all = new double[_segments.Sum(s => s.Count)];
        int at = 0;
        foreach (var s in _segments)
        {
            s.Span.CopyTo(all.AsSpan(at));
            at += s.Count;
        }
        _segments.Clear();
        Data.Profiling.ColumnData.SortDoubles(all); // radix sort: ~3× faster than Array.Sort on a 1M-value column
        return all;
    }
}

/// <summary>What one column of the window looked like: values by kind plus the counts data quality needs.</summary>
internal sealed class ColumnAccumulator(FeatureReference reference)
{
    public FeatureReference Reference { get; } = reference;
    public NumberSegments? Numbers { get; } = reference.Kind == ReferenceKind.Numeric ? new NumberSegments() : null;
    public Dictionary<string, long>? Counts { get; } =
        reference.Kind == ReferenceKind.Numeric ? null : new(StringComparer.Ordinal);

    /// <summary>Rows in which the column was present (missing = rows − present + nulls).</summary>
    public long Present;
    public long Nulls;
    public long TypeErrors;

    public void AddCategory(ReadOnlySpan<char> value)
    {
        var lookup = Counts!.GetAlternateLookup<ReadOnlySpan<char>>();
        CollectionsMarshal.GetValueRefOrAddDefault(lookup, value, out _)++;
    }

    public void Merge(ColumnAccumulator other)
    {
        if (Numbers is not null)
            Numbers.Merge(other.Numbers!);
        if (Counts is not null)
            foreach (var (k, v) in other.Counts!)
                Counts[k] = Counts.GetValueOrDefault(k) + v;
        Present += other.Present;
        Nulls += other.Nulls;
        TypeErrors += other.TypeErrors;
    }
}

/// <summary>A served prediction whose id has a feedback label: what performance on joined labels is computed
/// from.</summary>
/// <param name="Id">Prediction id.</param>
/// <param name="Score">Binary: P(positive); multiclass: winning probability; regression: the value.</param>
/// <param name="PredictedLabel">Predicted class (classification).</param>
/// <param name="Probabilities">Class probabilities in the reference's class order (classification).</param>
/// <param name="InputsJson">The logged input row as JSON (what the model saw), for turning feedback into training
/// rows.</param>
public sealed record LabeledPrediction(
    string Id,
    double Score,
    string? PredictedLabel,
    double[]? Probabilities,
    string? InputsJson = null
);

/// <summary>The state one reader thread builds from its share of the log lines; merged at the end.</summary>
internal sealed class WindowAccumulator
{
    public WindowAccumulator(ReferenceProfile reference)
    {
        Columns = reference.Features.Select(f => new ColumnAccumulator(f)).ToArray();
        Score = new ColumnAccumulator(reference.Score);
        PredictedLabels = new ColumnAccumulator(
            reference.PredictedLabels
                ?? new FeatureReference { Name = "predictedLabel", Kind = ReferenceKind.Categorical }
        );
        // Attribution drift explains a sample of the window's rows; only versions with a registration-time importance
        // have one to compare.
        Sample = reference.Attribution is null ? null : new RowSample(AttributionRows);
    }

    /// <summary>Rows of the window sampled for attribution drift.</summary>
    public const int AttributionRows = 1000;

    /// <summary>Sampled input rows (raw JSON), or null when the reference has no attribution to compare with.</summary>
    public RowSample? Sample { get; }

    public ColumnAccumulator[] Columns { get; }
    public ColumnAccumulator Score { get; }
    public ColumnAccumulator PredictedLabels { get; }
    public long Rows;
    public long Lines;
    public long RowsWithoutId;
    public Dictionary<string, long> UnknownColumns { get; } = new(StringComparer.Ordinal);
    public Dictionary<int, long> Versions { get; } = [];
    public List<LabeledPrediction> Labeled { get; } = [];
    public DateTimeOffset? First;
    public DateTimeOffset? Last;

    public void Merge(WindowAccumulator other)
    {
        for (int i = 0; i < Columns.Length; i++)
            Columns[i].Merge(other.Columns[i]);
        Score.Merge(other.Score);
        PredictedLabels.Merge(other.PredictedLabels);
        Rows += other.Rows;
        Lines += other.Lines;
        RowsWithoutId += other.RowsWithoutId;
        foreach (var (k, v) in other.UnknownColumns)
            UnknownColumns[k] = UnknownColumns.GetValueOrDefault(k) + v;
        foreach (var (k, v) in other.Versions)
            Versions[k] = Versions.GetValueOrDefault(k) + v;
        Labeled.AddRange(other.Labeled);
        if (other.Sample is not null)
            Sample?.Merge(other.Sample);
        if (other.First is { } f && (First is null || f < First))
            First = f;
        if (other.Last is { } l && (Last is null || l > Last))
            Last = l;
    }
}
