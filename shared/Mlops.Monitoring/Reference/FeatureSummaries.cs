using Mlops.Core.Statistics;

namespace Mlops.Monitoring.Reference;

/// <summary>
/// Builds <see cref="FeatureReference"/> summaries from values: at training time for the reference profile, and for a
/// production window so the report can show both sides with the same bins. One implementation keeps the two comparable.
/// </summary>
public static class FeatureSummaries
{
    /// <summary>Bins of the report histograms.</summary>
    public const int HistogramBins = 20;

    /// <summary>Numeric columns keep value counts while they have at most this many distinct values.</summary>
    public const int NumericCountsMaxDistinct = 20;

    /// <summary>
    /// Summary of a numeric column from its non-missing values sorted ascending (<paramref name="sorted"/>) and its row
    /// count including missing values. Keeps every value when there are at most <paramref name="exactUpTo"/>, else
    /// <see cref="ReferenceProfile.MaxSampleSize"/> quantiles.
    /// </summary>
    public static FeatureReference Numeric(string name, ReadOnlySpan<double> sorted, long rows, int exactUpTo)
    {
        int n = sorted.Length;
        if (n == 0)
            return new FeatureReference
            {
                Name = name,
                Kind = ReferenceKind.Numeric,
                Rows = rows,
                Count = 0,
                Exact = true,
                Sample = [],
            };
        double sum = 0;
        foreach (var v in sorted)
            sum += v;
        long distinct = SortedValues.DistinctCount(sorted);
        bool exact = n <= exactUpTo;
        return new FeatureReference
        {
            Name = name,
            Kind = ReferenceKind.Numeric,
            Rows = rows,
            Count = n,
            Distinct = distinct,
            Min = sorted[0],
            Max = sorted[^1],
            Mean = sum / n,
            Std = SortedValues.PopulationStd(sorted),
            Exact = exact,
            Sample = exact ? sorted.ToArray() : SortedValues.Quantiles(sorted, ReferenceProfile.MaxSampleSize),
            Counts = distinct <= NumericCountsMaxDistinct ? SortedValues.Counts(sorted) : null,
            Histogram = Histogram(sorted, sorted[0], sorted[^1]),
        };
    }

    /// <summary>Summary of a categorical (or text) column from its value counts and row count including missing
    /// values.</summary>
    public static FeatureReference Categorical(
        string name,
        ReferenceKind kind,
        IReadOnlyDictionary<string, long> counts,
        long rows
    )
    {
        long count = counts.Values.Sum();
        bool truncated = counts.Count > ReferenceProfile.MaxCategories;
        var kept = counts
            .OrderByDescending(kv => kv.Value)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(ReferenceProfile.MaxCategories)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new FeatureReference
        {
            Name = name,
            Kind = kind,
            Rows = rows,
            Count = count,
            Distinct = counts.Count,
            Counts = kind == ReferenceKind.Text ? null : kept,
            CountsTruncated = truncated,
        };
    }

    /// <summary>Counts of sorted values in <see cref="HistogramBins"/> equal-width bins over [lo, hi] (values outside
    /// go to the end bins).</summary>
    public static long[] Histogram(ReadOnlySpan<double> sorted, double lo, double hi)
    {
        var bins = new long[HistogramBins];
        double width = (hi - lo) / HistogramBins;
        foreach (var v in sorted)
        {
            int b = width <= 0 ? 0 : (int)((v - lo) / width);
            bins[Math.Clamp(b, 0, HistogramBins - 1)]++;
        }
        return bins;
    }
}
