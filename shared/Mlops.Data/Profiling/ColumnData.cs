using System.Runtime.CompilerServices;
using Mlops.Core.Statistics;
using Mlops.Data.Tabular;

namespace Mlops.Data.Profiling;

/// <summary>
/// Derived views of a column shared by profiling, schema checks and drift tests: the sorted non-missing numbers and the
/// value counts. Both are costly on large tables (a sort per column), so they are computed once per <see
/// cref="Column"/> instance and cached weakly — they disappear with the table.
/// </summary>
internal static class ColumnData
{
    private static readonly ConditionalWeakTable<Column, double[]> SortedCache = new();
    private static readonly ConditionalWeakTable<Column, Dictionary<string, long>> CountsCache = new();

    /// <summary>True for kinds whose values live in <see cref="Column.Numbers"/>.</summary>
    public static bool IsNumeric(Column c) => c.IsNumericLike && c.Numbers is not null;

    /// <summary>Non-missing numbers in ascending order (numeric-like kinds only).</summary>
    public static double[] Sorted(Column c) => SortedCache.GetValue(c, static col =>
        {
            var src = col.Numbers!;
            var dst = new double[src.Length];
            int n = 0;
            foreach (var v in src)
                if (!double.IsNaN(v))
                    dst[n++] = v;
            Array.Resize(ref dst, n);
            SortDoubles(dst);
            return dst;
        });

    /// <summary>
    /// Sorts NaN-free doubles ascending. Large arrays use an LSD radix sort on the order-preserving bit pattern
    /// (sign bit flipped for positives, all bits flipped for negatives): profiling sorts every numeric column, and on
    /// 1M-row columns this is about three times faster than the comparison sort.
    /// </summary>
    internal static void SortDoubles(double[] a)
    {
        int n = a.Length;
        if (n < 16_384)
        {
            Array.Sort(a);
            return;
        }
        // Pooled: profiling and monitoring sort dozens of large columns in a row, and two fresh 8n-byte arrays per
        // column would pile up as large-object garbage faster than the collector reclaims it.
        var keys = System.Buffers.ArrayPool<ulong>.Shared.Rent(n);
        var tmp = System.Buffers.ArrayPool<ulong>.Shared.Rent(n);
        var counts = new int[8 * 256];
        for (int i = 0; i < n; i++)
        {
            ulong b = (ulong)BitConverter.DoubleToInt64Bits(a[i]);
            ulong k = (b & 0x8000_0000_0000_0000UL) != 0 ? ~b : b | 0x8000_0000_0000_0000UL;
            keys[i] = k;
            // All eight byte histograms in the same pass, so each scatter pass reads the keys once.
            for (int d = 0; d < 8; d++)
                counts[d * 256 + (int)((k >> (d * 8)) & 0xFF)]++;
        }
        for (int d = 0; d < 8; d++)
        {
            var c = counts.AsSpan(d * 256, 256);
            int shift = d * 8;
            // A byte position where every key has the same value would be a no-op pass: skip it.
            if (c[(int)((keys[0] >> shift) & 0xFF)] == n)
                continue;
            int sum = 0;
            for (int v = 0; v < 256; v++)
            {
                int t = c[v];
                c[v] = sum;
                sum += t;
            }
            for (int i = 0; i < n; i++)
            {
                ulong k = keys[i];
                tmp[c[(int)((k >> shift) & 0xFF)]++] = k;
            }
            (keys, tmp) = (tmp, keys);
        }
        for (int i = 0; i < n; i++)
        {
            ulong k = keys[i];
            ulong b = (k & 0x8000_0000_0000_0000UL) != 0 ? k & 0x7FFF_FFFF_FFFF_FFFFUL : ~k;
            a[i] = BitConverter.Int64BitsToDouble((long)b);
        }
        System.Buffers.ArrayPool<ulong>.Shared.Return(keys);
        System.Buffers.ArrayPool<ulong>.Shared.Return(tmp);
    }

    /// <summary>
    /// Counts of each non-missing value, keyed by text. For numeric columns the keys are the values'
    /// round-trip text (<see cref="SortedValues.NumberKey"/>); callers only ask for numeric counts when the column has few
    /// distinct values.
    /// </summary>
    public static Dictionary<string, long> Counts(Column c) => CountsCache.GetValue(c, static col =>
        {
            // Numbers: walk the sorted array, one dictionary insert per distinct value instead of per row.
            if (IsNumeric(col))
                return SortedValues.Counts(Sorted(col));
            var d = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var v in col.Strings!)
                if (v is not null)
                    d[v] = d.TryGetValue(v, out var n) ? n + 1 : 1;
            return d;
        });

    /// <summary>Number of distinct non-missing values.</summary>
    public static long Distinct(Column c)
    {
        return IsNumeric(c) ? SortedValues.DistinctCount(Sorted(c)) : Counts(c).Count;
    }

    /// <summary>Non-missing count.</summary>
    public static long NonMissing(Column c) => IsNumeric(c) ? Sorted(c).Length : Counts(c).Values.Sum();
}
