using MathNet.Numerics.Distributions;
using Mlops.Core.Statistics;

namespace Mlops.Data.Drift;

/// <summary>A test statistic with its p-value (null for distances).</summary>
public readonly record struct TestResult(double Statistic, double? PValue);

/// <summary>
/// Two-sample drift statistics between a reference and a current sample. Pure functions over arrays or count tables,
/// written from the textbook definitions; each method documents the convention it follows (scipy's where one exists)
/// so values can be checked against a known implementation.
/// </summary>
public static class DriftStatistics
{
    /// <summary>Samples above this product of sizes use the asymptotic Kolmogorov distribution instead of the exact
    /// path count.</summary>
    public const long KsExactMaxProduct = 10_000_000;

    /// <summary>Probability floor used by PSI for empty bins (an empty bin would otherwise make the log
    /// infinite).</summary>
    public const double PsiEpsilon = 1e-4;

    // ---------------------------------------------------------------- Kolmogorov–Smirnov

    /// <summary>
    /// Two-sample Kolmogorov–Smirnov test, two-sided: D = sup |F_ref − F_cur|. The p-value is exact (lattice-path
    /// probability, as scipy's <c>ks_2samp(method="exact")</c>) when n·m ≤ <see cref="KsExactMaxProduct"/>, else the
    /// asymptotic Kolmogorov distribution of √(nm/(n+m))·D. NaNs must be removed by the caller.
    /// </summary>
    public static TestResult KolmogorovSmirnov(double[] reference, double[] current)
    {
        var a = (double[])reference.Clone();
        Array.Sort(a);
        var b = (double[])current.Clone();
        Array.Sort(b);
        return KolmogorovSmirnovSorted(a, b);
    }

    /// <summary><see cref="KolmogorovSmirnov"/> for samples already sorted ascending (no copy).</summary>
    public static TestResult KolmogorovSmirnovSorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n = a.Length,
            m = b.Length;
        if (n == 0 || m == 0)
            return new TestResult(double.NaN, null);
        // D as an exact integer numerator over n·m, so the path count below compares integers, not rounded doubles.
        long best = 0;
        int i = 0,
            j = 0;
        while (i < n && j < m)
        {
            double x = Math.Min(a[i], b[j]);
            while (i < n && a[i] == x)
                i++;
            while (j < m && b[j] == x)
                j++;
            best = Math.Max(best, Math.Abs((long)i * m - (long)j * n));
        }
        double d = (double)best / ((long)n * m);
        double p = (long)n * m <= KsExactMaxProduct ? KsExactPValue(n, m, best) : KsAsymptoticPValue(n, m, d);
        return new TestResult(d, Math.Clamp(p, 0, 1));
    }

    /// <summary>
    /// P(D ≥ d) under H0 for sample sizes n and m, by walking all C(n+m, n) equally likely merge orders as a
    /// probability-weighted lattice (no overflow), keeping only paths that stay strictly inside |i·m − j·n| &lt;
    /// dNumerator.
    /// </summary>
    private static double KsExactPValue(int n, int m, long dNumerator)
    {
        if (dNumerator == 0)
            return 1;
        var row = new double[m + 1];
        // row[j] = probability that a random path reaches (i, j) without ever leaving the band.
        row[0] = 1;
        for (int j = 1; j <= m; j++)
            row[j] = Math.Abs((long)j * n) < dNumerator ? row[j - 1] * (m - j + 1) / (double)(n + m - j + 1) : 0;
        for (int i = 1; i <= n; i++)
        {
            // From (i-1, j) step in a: probability (n-i+1)/(n+m-(i-1)-j). From (i, j-1) step in b:
            // (m-j+1)/(n+m-i-(j-1)).
            double left = 0;
            for (int j = 0; j <= m; j++)
            {
                double v = 0;
                if (Math.Abs((long)i * m - (long)j * n) < dNumerator)
                {
                    v = row[j] * (n - i + 1) / (double)(n + m - (i - 1) - j);
                    if (j > 0)
                        v += left * (m - j + 1) / (double)(n + m - i - (j - 1));
                }
                row[j] = v;
                left = v;
            }
        }
        return 1 - row[m];
    }

    private static double KsAsymptoticPValue(int n, int m, double d)
    {
        double en = (double)n * m / (n + m);
        return KolmogorovSurvival(Math.Sqrt(en) * d);
    }

    /// <summary>Survival function of the Kolmogorov distribution, Q(λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²).</summary>
    internal static double KolmogorovSurvival(double lambda)
    {
        if (lambda <= 0)
            return 1;
        if (lambda < 0.3)
        {
            // The alternating series converges slowly for small λ; use the dual (Jacobi theta) form of the CDF.
            double s = 0,
                f = Math.PI * Math.PI / (8 * lambda * lambda);
            for (int k = 1; k <= 7; k += 2)
                s += Math.Exp(-k * k * f);
            return 1 - Math.Sqrt(2 * Math.PI) / lambda * s;
        }
        double sum = 0;
        for (int k = 1; k <= 100; k++)
        {
            double term = Math.Exp(-2.0 * k * k * lambda * lambda);
            sum += (k % 2 == 1 ? 1 : -1) * term;
            if (term < 1e-17)
                break;
        }
        return Math.Clamp(2 * sum, 0, 1);
    }

    // ---------------------------------------------------------------- count-based tests

    /// <summary>
    /// Pearson chi-square test of homogeneity on the 2×k contingency table of category counts (scipy's
    /// <c>chi2_contingency(correction=False)</c>); df = k − 1 over categories seen in either sample. Both samples are
    /// treated as draws, so a category absent from the reference does not make the statistic infinite.
    /// </summary>
    public static TestResult ChiSquare(
        IReadOnlyDictionary<string, long> reference,
        IReadOnlyDictionary<string, long> current
    )
    {
        var keys = reference.Keys.Union(current.Keys).ToList();
        double n = reference.Values.Sum(),
            m = current.Values.Sum();
        if (keys.Count < 2 || n == 0 || m == 0)
            return new TestResult(0, 1);
        double stat = 0;
        foreach (var k in keys)
        {
            double r = reference.GetValueOrDefault(k),
                c = current.GetValueOrDefault(k),
                tot = r + c;
            double er = tot * n / (n + m),
                ec = tot * m / (n + m);
            stat += (r - er) * (r - er) / er + (c - ec) * (c - ec) / ec;
        }
        return new TestResult(stat, 1 - ChiSquared.CDF(keys.Count - 1, stat));
    }

    /// <summary>
    /// Two-proportion Z-test (pooled variance), two-sided, for a binary column: compares the share of the first value
    /// (ordinal order) between samples. Identical constant samples give z = 0, p = 1.
    /// </summary>
    public static TestResult ZTest(
        IReadOnlyDictionary<string, long> reference,
        IReadOnlyDictionary<string, long> current
    )
    {
        var keys = reference.Keys.Union(current.Keys).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (keys.Count > 2)
            throw new ArgumentException("The Z-test needs a binary column (at most two distinct values).");
        double n = reference.Values.Sum(),
            m = current.Values.Sum();
        if (keys.Count == 0 || n == 0 || m == 0)
            return new TestResult(0, 1);
        double p1 = reference.GetValueOrDefault(keys[0]) / n,
            p2 = current.GetValueOrDefault(keys[0]) / m;
        double p = (p1 * n + p2 * m) / (n + m);
        double se = Math.Sqrt(p * (1 - p) * (1 / n + 1 / m));
        if (se == 0)
            return new TestResult(0, 1);
        double z = (p1 - p2) / se;
        return new TestResult(z, 2 * Normal.CDF(0, 1, -Math.Abs(z)));
    }

    // ---------------------------------------------------------------- distances

    /// <summary>
    /// Wasserstein-1 (earth mover's) distance between two empirical distributions, ∫|F_ref − F_cur| dx
    /// (scipy's <c>wasserstein_distance</c>), on samples sorted ascending.
    /// </summary>
    public static double WassersteinSorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n = a.Length,
            m = b.Length;
        if (n == 0 || m == 0)
            return double.NaN;
        int i = 0,
            j = 0;
        double area = 0,
            prev = Math.Min(a[0], b[0]);
        while (i < n || j < m)
        {
            double x = j >= m || (i < n && a[i] <= b[j]) ? a[i] : b[j];
            // Between prev and x both CDFs are constant at i/n and j/m.
            area += Math.Abs((double)i / n - (double)j / m) * (x - prev);
            while (i < n && a[i] == x)
                i++;
            while (j < m && b[j] == x)
                j++;
            prev = x;
        }
        return area;
    }

    /// <summary>
    /// Wasserstein-1 distance divided by the reference's population standard deviation, so 0.1 means "the mass moved
    /// a tenth of a standard deviation" whatever the unit. A constant reference divides by 0.001 instead of zero.
    /// </summary>
    public static double NormalizedWasserstein(double[] reference, double[] current)
    {
        var a = (double[])reference.Clone();
        Array.Sort(a);
        var b = (double[])current.Clone();
        Array.Sort(b);
        return NormalizedWassersteinSorted(a, b);
    }

    /// <summary><see cref="NormalizedWasserstein"/> on sorted samples.</summary>
    public static double NormalizedWassersteinSorted(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length == 0 || b.Length == 0)
            return double.NaN;
        return WassersteinSorted(a, b) / Math.Max(SortedValues.PopulationStd(a), 1e-3);
    }

    /// <summary>
    /// Jensen–Shannon <b>distance</b> with base-2 logarithms: √JSD(P‖Q), in [0, 1] (0 identical, 1 disjoint supports) —
    /// scipy's <c>jensenshannon(p, q, base=2)</c>. Inputs are counts (or weights) per category; zeros are allowed.
    /// </summary>
    public static double JensenShannon(
        IReadOnlyDictionary<string, long> reference,
        IReadOnlyDictionary<string, long> current
    )
    {
        var (p, q) = Align(reference, current);
        return JensenShannon(p, q);
    }

    /// <summary>Jensen–Shannon distance (base 2) of two aligned weight vectors (normalised here).</summary>
    public static double JensenShannon(double[] p, double[] q)
    {
        if (p.Length != q.Length)
            throw new ArgumentException("Distributions must have the same number of bins.");
        double sp = p.Sum(),
            sq = q.Sum();
        if (sp == 0 || sq == 0)
            return double.NaN;
        double js = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double a = p[i] / sp,
                b = q[i] / sq,
                mid = (a + b) / 2;
            if (a > 0)
                js += 0.5 * a * Math.Log2(a / mid);
            if (b > 0)
                js += 0.5 * b * Math.Log2(b / mid);
        }
        return Math.Sqrt(Math.Max(js, 0));
    }

    /// <summary>
    /// Population stability index, Σ (c − r)·ln(c / r) over bins of shares, with empty bins floored at
    /// <see cref="PsiEpsilon"/>. Rules of thumb: &lt;0.1 stable, 0.1–0.25 moderate shift, &gt;0.25 major shift.
    /// </summary>
    public static double Psi(double[] referenceCounts, double[] currentCounts)
    {
        if (referenceCounts.Length != currentCounts.Length)
            throw new ArgumentException("Distributions must have the same number of bins.");
        double sr = referenceCounts.Sum(),
            sc = currentCounts.Sum();
        if (sr == 0 || sc == 0)
            return double.NaN;
        double psi = 0;
        for (int i = 0; i < referenceCounts.Length; i++)
        {
            double r = Math.Max(referenceCounts[i] / sr, PsiEpsilon),
                c = Math.Max(currentCounts[i] / sc, PsiEpsilon);
            psi += (c - r) * Math.Log(c / r);
        }
        return psi;
    }

    /// <summary>PSI over categories (union of both samples' categories).</summary>
    public static double Psi(IReadOnlyDictionary<string, long> reference, IReadOnlyDictionary<string, long> current)
    {
        var (p, q) = Align(reference, current);
        return Psi(p, q);
    }

    /// <summary>
    /// PSI of a numeric column over <paramref name="bins"/> bins cut at the reference's quantiles (equal-population
    /// reference bins, the usual credit-scoring convention). Samples must be sorted.
    /// </summary>
    public static double PsiSorted(ReadOnlySpan<double> reference, ReadOnlySpan<double> current, int bins = 10)
    {
        if (reference.Length == 0 || current.Length == 0)
            return double.NaN;
        var edges = new List<double>();
        for (int k = 1; k < bins; k++)
        {
            double e = SortedValues.Quantile(reference, (double)k / bins);
            if (edges.Count == 0 || e > edges[^1])
                edges.Add(e);
        }
        return Psi(BinCounts(reference, edges), BinCounts(current, edges));
    }

    /// <summary>Counts of sorted values in bins (−∞, e0], (e0, e1], …, (e_last, ∞).</summary>
    internal static double[] BinCounts(ReadOnlySpan<double> sorted, IReadOnlyList<double> upperEdges)
    {
        var counts = new double[upperEdges.Count + 1];
        int bin = 0;
        foreach (var v in sorted)
        {
            while (bin < upperEdges.Count && v > upperEdges[bin])
                bin++;
            counts[bin]++;
        }
        return counts;
    }

    /// <summary>
    /// Jensen–Shannon distance of two numeric samples over equal-width bins spanning both (Sturges' bin count on the
    /// pooled size), for numeric columns where a method on histograms was requested. Samples must be sorted.
    /// </summary>
    /// <param name="reference">Reference values, sorted.</param>
    /// <param name="current">Current values, sorted.</param>
    /// <param name="pooledCount">Size of the populations the samples stand for (default: the samples' own sizes): a
    /// reference stored as quantiles must be binned as the full data it summarises.</param>
    public static double JensenShannonSorted(
        ReadOnlySpan<double> reference,
        ReadOnlySpan<double> current,
        long? pooledCount = null
    )
    {
        if (reference.Length == 0 || current.Length == 0)
            return double.NaN;
        double lo = Math.Min(reference[0], current[0]),
            hi = Math.Max(reference[^1], current[^1]);
        if (lo == hi)
            return 0;
        int bins = (int)Math.Ceiling(Math.Log2(pooledCount ?? (long)reference.Length + current.Length)) + 1;
        var edges = new double[bins - 1];
        for (int k = 1; k < bins; k++)
            edges[k - 1] = lo + (hi - lo) * k / bins;
        return JensenShannon(BinCounts(reference, edges), BinCounts(current, edges));
    }

    /// <summary>L∞ (Chebyshev) distance between two category distributions: the largest absolute difference of
    /// shares.</summary>
    public static double LInfinity(
        IReadOnlyDictionary<string, long> reference,
        IReadOnlyDictionary<string, long> current
    )
    {
        var (p, q) = Align(reference, current);
        double sp = p.Sum(),
            sq = q.Sum();
        if (sp == 0 || sq == 0)
            return double.NaN;
        double max = 0;
        for (int i = 0; i < p.Length; i++)
            max = Math.Max(max, Math.Abs(p[i] / sp - q[i] / sq));
        return max;
    }

    private static (double[] P, double[] Q) Align(
        IReadOnlyDictionary<string, long> reference,
        IReadOnlyDictionary<string, long> current
    )
    {
        var keys = reference.Keys.Union(current.Keys).OrderBy(k => k, StringComparer.Ordinal).ToList();
        return (
            keys.Select(k => (double)reference.GetValueOrDefault(k)).ToArray(),
            keys.Select(k => (double)current.GetValueOrDefault(k)).ToArray()
        );
    }
}
