using System.Globalization;

namespace Mlops.Core.Statistics;

/// <summary>
/// Order statistics over values already sorted ascending (NaN-free), shared by profiling, validation, drift, monitoring
/// and run evaluation so that each is defined once: a quantile or a bound computed in two places gives the same number.
/// </summary>
public static class SortedValues
{
    /// <summary>
    /// Linear-interpolated quantile at <paramref name="level"/> (0…1) — numpy's default ("linear") method. NaN when
    /// <paramref name="sorted"/> is empty.
    /// </summary>
    public static double Quantile(ReadOnlySpan<double> sorted, double level)
    {
        if (sorted.IsEmpty)
            return double.NaN;
        double pos = level * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos),
            hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary><paramref name="points"/> quantiles at levels 0, 1/(points−1), …, 1 (see <see
    /// cref="Quantile"/>).</summary>
    public static double[] Quantiles(ReadOnlySpan<double> sorted, int points)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 2);
        var q = new double[points];
        for (int k = 0; k < points; k++)
            q[k] = Quantile(sorted, (double)k / (points - 1));
        return q;
    }

    /// <summary>How many values are strictly below <paramref name="x"/> (the index of the first value ≥ x).</summary>
    public static int LowerBound(ReadOnlySpan<double> sorted, double x)
    {
        int lo = 0,
            hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < x)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    /// <summary>How many values are at most <paramref name="x"/> (the index of the first value &gt; x).</summary>
    public static int UpperBound(ReadOnlySpan<double> sorted, double x)
    {
        int lo = 0,
            hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    /// <summary>Number of distinct values.</summary>
    public static long DistinctCount(ReadOnlySpan<double> sorted)
    {
        if (sorted.IsEmpty)
            return 0;
        long d = 1;
        for (int i = 1; i < sorted.Length; i++)
            if (sorted[i] != sorted[i - 1])
                d++;
        return d;
    }

    /// <summary>Population standard deviation (divides by n; 0 for an empty span).</summary>
    public static double PopulationStd(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty)
            return 0;
        double mean = 0;
        foreach (var v in values)
            mean += v;
        mean /= values.Length;
        double ss = 0;
        foreach (var v in values)
            ss += (v - mean) * (v - mean);
        return Math.Sqrt(ss / values.Length);
    }

    /// <summary>Counts of each value keyed by <see cref="NumberKey"/>: one dictionary insert per distinct
    /// value.</summary>
    public static Dictionary<string, long> Counts(ReadOnlySpan<double> sorted)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < sorted.Length; )
        {
            int j = i + 1;
            while (j < sorted.Length && sorted[j] == sorted[i])
                j++;
            counts[NumberKey(sorted[i])] = j - i;
            i = j;
        }
        return counts;
    }

    /// <summary>The text key of a number used as a category: round-trip, invariant ("1", "0.5").</summary>
    public static string NumberKey(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
