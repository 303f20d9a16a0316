namespace Mlops.ML.Gbdt;

/// <summary>
/// Maps one feature's float values to byte bins. Bin 0 holds missing values (NaN); value bins 1..N cover
/// (-inf, UpperBounds[0]], (UpperBounds[0], UpperBounds[1]], … with the last bound +inf. A split "bin ≤ t" is the same
/// test as "value ≤ UpperBounds[t-1]", which is how trees stay exact when they predict on raw values.
/// </summary>
public sealed class BinMapper
{
    public BinMapper(float[] upperBounds)
    {
        if (upperBounds.Length is < 1 or > 255)
            throw new ArgumentException("A feature needs 1..255 value bins.", nameof(upperBounds));
        UpperBounds = upperBounds;
    }

    /// <summary>Inclusive upper bound of value bin i+1; the last is +inf.</summary>
    public float[] UpperBounds { get; }

    /// <summary>Bins including the missing bin.</summary>
    public int BinCount => UpperBounds.Length + 1;

    public byte ValueToBin(float v)
    {
        if (float.IsNaN(v))
            return 0;
        var b = UpperBounds;
        int lo = 0,
            hi = b.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (v <= b[mid])
                hi = mid;
            else
                lo = mid + 1;
        }
        return (byte)(lo + 1);
    }

    /// <summary>
    /// Builds bins from sorted non-missing sample values: one bin per distinct value when they fit, otherwise
    /// equal-count bins whose boundaries fall between distinct values (a heavy value never shares a boundary).
    /// </summary>
    public static BinMapper FromSortedSample(ReadOnlySpan<float> sorted, int maxBins)
    {
        if (sorted.Length == 0)
            return new BinMapper([float.PositiveInfinity]);
        var distinct = new List<float>();
        var counts = new List<int>();
        for (int i = 0; i < sorted.Length; i++)
        {
            if (distinct.Count > 0 && sorted[i] == distinct[^1])
                counts[^1]++;
            else
            {
                distinct.Add(sorted[i]);
                counts.Add(1);
            }
        }
        var bounds = new List<float>();
        if (distinct.Count <= maxBins)
        {
            for (int i = 0; i < distinct.Count - 1; i++)
                bounds.Add(Between(distinct[i], distinct[i + 1]));
        }
        else
        {
            int remaining = sorted.Length;
            int binsLeft = maxBins;
            double target = (double)remaining / binsLeft;
            int acc = 0;
            for (int i = 0; i < distinct.Count - 1 && binsLeft > 1; i++)
            {
                acc += counts[i];
                // Close the bin when it is full, or when the next value alone would overfill it.
                if (acc >= target || acc + counts[i + 1] > 1.5 * target && acc >= target / 2)
                {
                    bounds.Add(Between(distinct[i], distinct[i + 1]));
                    remaining -= acc;
                    binsLeft--;
                    acc = 0;
                    target = (double)remaining / binsLeft;
                }
            }
        }
        bounds.Add(float.PositiveInfinity);
        return new BinMapper(bounds.ToArray());
    }

    private static float Between(float a, float b)
    {
        float m = (float)(((double)a + b) / 2);
        return m >= a && m < b ? m : a;
    }
}
