using Mlops.Core.Statistics;
using Mlops.Data.Tabular;

namespace Mlops.Data.Profiling;

/// <summary>
/// Computes a <see cref="DataProfile"/> (TFDV-style statistics) for a table. Columns are profiled in parallel; the work
/// per column is one sort plus linear passes, so a 1M-row numeric column takes about a tenth of a second.
/// </summary>
public static class DataProfiler
{
    /// <summary>Quantile levels recorded for numeric columns.</summary>
    public static readonly IReadOnlyList<double> QuantileLevels = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

    /// <summary>Histogram bins for numeric columns.</summary>
    public const int HistogramBins = 20;

    /// <summary>Most frequent values kept per column. Equals TFDV's default string-domain cap so the schema can use
    /// them.</summary>
    public const int TopValueCount = 100;

    /// <summary>Numeric columns with at most this many distinct values also get <see
    /// cref="ColumnProfile.TopValues"/>.</summary>
    public const int NumericTopValuesMaxDistinct = 100;

    /// <summary>Profiles every column of <paramref name="table"/>; when <paramref name="label"/> names a column its
    /// class distribution is added.</summary>
    /// <exception cref="DataException">The label column does not exist (code <c>data.label_not_found</c>).</exception>
    public static DataProfile Profile(DataTable table, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        var columns = new ColumnProfile[table.Columns.Count];
        Parallel.For(0, columns.Length, i => columns[i] = ProfileColumn(table.Columns[i], table.RowCount));

        LabelDistribution? labels = null;
        if (label is not null)
        {
            var col = table.Find(label);
            // A missing label is a validation anomaly, not a profiling error: the profile just has no distribution.
            if (col is not null)
                labels = LabelDistributionOf(col);
        }
        return new DataProfile(table.RowCount, columns, label, labels, DuplicateShare(table));
    }

    /// <summary>Profile of one column (exposed for callers that profile incrementally).</summary>
    public static ColumnProfile ProfileColumn(Column column, long rowCount)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (ColumnData.IsNumeric(column))
            return ProfileNumeric(column, rowCount);
        var counts = ColumnData.Counts(column);
        long count = counts.Values.Sum();
        long missing = rowCount - count;
        return new ColumnProfile(
            column.Name,
            column.Kind,
            count,
            missing,
            Rate(missing, rowCount),
            counts.Count,
            TopValues: Top(counts, count)
        );
    }

    private static ColumnProfile ProfileNumeric(Column column, long rowCount)
    {
        var s = ColumnData.Sorted(column);
        long count = s.Length,
            missing = rowCount - count;
        long distinct = ColumnData.Distinct(column);
        if (count == 0)
            return new ColumnProfile(column.Name, column.Kind, 0, missing, Rate(missing, rowCount), 0);

        // Welford would be needed for streaming; with the whole column at hand two passes are exact and simpler.
        double sum = 0;
        foreach (var v in s)
            sum += v;
        double mean = sum / count,
            ss = 0;
        foreach (var v in s)
            ss += (v - mean) * (v - mean);
        double std = Math.Sqrt(ss / count);

        var quantiles = QuantileLevels.Select(l => new QuantileValue(l, SortedValues.Quantile(s, l))).ToList();
        return new ColumnProfile(
            column.Name,
            column.Kind,
            count,
            missing,
            Rate(missing, rowCount),
            distinct,
            s[0],
            s[^1],
            mean,
            std,
            quantiles,
            HistogramOf(s),
            distinct <= NumericTopValuesMaxDistinct ? Top(ColumnData.Counts(column), count) : null
        );
    }

    private static Histogram HistogramOf(double[] sorted)
    {
        double min = sorted[0],
            max = sorted[^1];
        if (min == max)
            return new Histogram([min, max], [sorted.Length]);
        var edges = new double[HistogramBins + 1];
        for (int i = 0; i <= HistogramBins; i++)
            edges[i] = min + (max - min) * i / HistogramBins;
        edges[^1] = max;
        var counts = new long[HistogramBins];
        double width = (max - min) / HistogramBins;
        foreach (var v in sorted)
        {
            int b = (int)((v - min) / width);
            counts[Math.Clamp(b, 0, HistogramBins - 1)]++;
        }
        return new Histogram(edges, counts);
    }

    private static List<ValueFrequency> Top(Dictionary<string, long> counts, long total) =>
        counts
            .OrderByDescending(kv => kv.Value)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(TopValueCount)
            .Select(kv => new ValueFrequency(kv.Key, kv.Value, total == 0 ? 0 : (double)kv.Value / total))
            .ToList();

    /// <summary>
    /// Class distribution of a label column, or null when it is numeric with many distinct values (regression),
    /// where class balance has no meaning.
    /// </summary>
    internal static LabelDistribution? LabelDistributionOf(Column col)
    {
        if (ColumnData.IsNumeric(col) && ColumnData.Distinct(col) > NumericTopValuesMaxDistinct)
            return null;
        var counts = ColumnData.Counts(col);
        long total = counts.Values.Sum();
        var classes = counts
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new ValueFrequency(kv.Key, kv.Value, total == 0 ? 0 : (double)kv.Value / total))
            .ToList();
        return new LabelDistribution(col.Name, classes, col.Length - total);
    }

    /// <summary>Share of rows equal to an earlier row, using a 64-bit row hash (collisions are negligible below
    /// billions of rows).</summary>
    internal static double DuplicateShare(DataTable table)
    {
        int n = table.RowCount;
        if (n < 2)
            return 0;
        var hashes = new ulong[n];
        Array.Fill(hashes, 14695981039346656037UL);
        foreach (var c in table.Columns)
        {
            if (c.Numbers is not null)
            {
                var nums = c.Numbers;
                for (int r = 0; r < n; r++)
                    hashes[r] = Mix(
                        hashes[r],
                        (ulong)BitConverter.DoubleToInt64Bits(double.IsNaN(nums[r]) ? double.NaN : nums[r])
                    );
            }
            else
            {
                var strs = c.Strings!;
                for (int r = 0; r < n; r++)
                    hashes[r] = Mix(hashes[r], strs[r] is { } s ? Fnv(s) : 0x5bd1e995UL);
            }
        }
        var seen = new HashSet<ulong>(n);
        long dup = 0;
        foreach (var h in hashes)
            if (!seen.Add(h))
                dup++;
        return (double)dup / n;
    }

    private static ulong Mix(ulong h, ulong v)
    {
        h ^= v + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
        h *= 0xBF58476D1CE4E5B9UL;
        return h ^ (h >> 31);
    }

    private static ulong Fnv(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char ch in s)
        {
            h ^= ch;
            h *= 1099511628211UL;
        }
        return h;
    }

    private static double Rate(long part, long whole) => whole == 0 ? 0 : (double)part / whole;
}
