using Mlops.Data.Profiling;
using Mlops.Data.Tabular;
using Mlops.Data.Validation;

namespace Mlops.Data.Drift;

/// <summary>
/// Chooses and runs the drift test for a column pair. <see cref="DriftMethod.Auto"/> follows Evidently's size rule:
/// with a reference of at most <see cref="ValidationOptions.SmallSampleMaxRows"/> rows, KS for numeric columns with
/// more than 5 distinct values, Z-test for binary and chi-square for other categorical columns (p &lt; 0.05); above it,
/// normalised Wasserstein for numeric columns with more than 5 distinct values and Jensen–Shannon otherwise (≥ 0.1).
/// </summary>
public static class DriftDetector
{
    /// <summary>Numeric columns with at most this many distinct values are treated as categorical (Evidently's rule).</summary>
    public const int NumericCategoricalMaxDistinct = 5;

    /// <summary>Default threshold of p-value tests.</summary>
    public const double DefaultPValueThreshold = 0.05;

    /// <summary>Default threshold of distances.</summary>
    public const double DefaultDistanceThreshold = 0.1;

    /// <summary>True for methods whose statistic is a p-value check (drift when p &lt; threshold).</summary>
    public static bool IsPValueMethod(DriftMethod m) => m is DriftMethod.KolmogorovSmirnov or DriftMethod.ChiSquare or DriftMethod.ZTest;

    /// <summary>
    /// Drift of <paramref name="current"/> against <paramref name="reference"/> (same column in two versions). Returns null
    /// when the method is <see cref="DriftMethod.None"/> or the column is free text (no meaningful distribution test).
    /// </summary>
    public static DriftResult? Compute(Column reference, Column current, DriftColumnOptions columnOptions, ValidationOptions options, bool isLabel = false)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        if (columnOptions.Method == DriftMethod.None) return null;
        if (current.Kind == ColumnKind.Text && columnOptions.Method == DriftMethod.Auto) return null;

        // Compare as numbers only when both sides are numeric; a type change falls back to comparing value counts.
        bool numeric = ColumnData.IsNumeric(reference) && ColumnData.IsNumeric(current);
        long refCount = ColumnData.NonMissing(reference), curCount = ColumnData.NonMissing(current);
        long distinct = numeric ? Math.Max(ColumnData.Distinct(reference), ColumnData.Distinct(current)) : CategoryUnion(reference, current);
        bool categoricalLike = !numeric || distinct <= NumericCategoricalMaxDistinct;

        var method = ChooseMethod(columnOptions.Method, refCount, numeric, distinct, options.SmallSampleMaxRows);
        // Two values on each side can still be three or four together ({0,1} then {5}): the Z-test needs the union binary.
        if (method == DriftMethod.ZTest && CategoryUnion(reference, current) > 2) method = DriftMethod.ChiSquare;

        double threshold = columnOptions.Threshold ?? (IsPValueMethod(method) ? DefaultPValueThreshold : DefaultDistanceThreshold);
        bool insufficient = refCount < options.MinRowsForDrift || curCount < options.MinRowsForDrift;

        TestResult r;
        if (refCount == 0 || curCount == 0)
        {
            r = new TestResult(double.NaN, null);
        }
        else
        {
            r = method switch
            {
                DriftMethod.KolmogorovSmirnov => DriftStatistics.KolmogorovSmirnovSorted(ColumnData.Sorted(reference), ColumnData.Sorted(current)),
                DriftMethod.Wasserstein => new(DriftStatistics.NormalizedWassersteinSorted(ColumnData.Sorted(reference), ColumnData.Sorted(current)), null),
                DriftMethod.ChiSquare => DriftStatistics.ChiSquare(ColumnData.Counts(reference), ColumnData.Counts(current)),
                DriftMethod.ZTest => DriftStatistics.ZTest(ColumnData.Counts(reference), ColumnData.Counts(current)),
                DriftMethod.JensenShannon when !categoricalLike => new(DriftStatistics.JensenShannonSorted(ColumnData.Sorted(reference), ColumnData.Sorted(current)), null),
                DriftMethod.JensenShannon => new(DriftStatistics.JensenShannon(ColumnData.Counts(reference), ColumnData.Counts(current)), null),
                DriftMethod.Psi when !categoricalLike => new(DriftStatistics.PsiSorted(ColumnData.Sorted(reference), ColumnData.Sorted(current), options.PsiBins), null),
                DriftMethod.Psi => new(DriftStatistics.Psi(ColumnData.Counts(reference), ColumnData.Counts(current)), null),
                DriftMethod.LInfinity => new(DriftStatistics.LInfinity(ColumnData.Counts(reference), ColumnData.Counts(current)), null),
                _ => throw new DataException("data.options", $"Drift method {method} cannot be computed."),
            };
        }

        bool crossed = IsPValueMethod(method)
            ? r.PValue is { } p && p < threshold
            : !double.IsNaN(r.Statistic) && r.Statistic >= threshold;
        return new DriftResult(current.Name, method, r.Statistic, r.PValue, threshold, crossed && !insufficient, insufficient,
            refCount, curCount, isLabel);
    }

    /// <summary>
    /// The test a column pair gets: <paramref name="requested"/> unless it is <see cref="DriftMethod.Auto"/>, in which case
    /// the size rule above picks it from the reference's non-missing count. Sample-based numeric methods fall back to
    /// their count-based equivalents when either side is not numeric, and the Z-test to chi-square beyond two values.
    /// Public so that callers holding a reference summary (monitoring) rather than the rows choose the same test.
    /// </summary>
    /// <param name="requested">Method asked for in the options.</param>
    /// <param name="referenceCount">Non-missing values in the reference.</param>
    /// <param name="numeric">Both sides hold numbers.</param>
    /// <param name="distinct">Distinct values (numeric) or categories in the union of both sides.</param>
    /// <param name="smallSampleMaxRows">Largest reference treated as small (<see cref="ValidationOptions.SmallSampleMaxRows"/>).</param>
    public static DriftMethod ChooseMethod(DriftMethod requested, long referenceCount, bool numeric, long distinct, int smallSampleMaxRows)
    {
        bool categoricalLike = !numeric || distinct <= NumericCategoricalMaxDistinct;
        var method = requested;
        if (method == DriftMethod.Auto)
        {
            bool small = referenceCount <= smallSampleMaxRows;
            method = (small, categoricalLike) switch
            {
                (true, false) => DriftMethod.KolmogorovSmirnov,
                (true, true) => distinct <= 2 ? DriftMethod.ZTest : DriftMethod.ChiSquare,
                (false, false) => DriftMethod.Wasserstein,
                (false, true) => DriftMethod.JensenShannon,
            };
        }
        // Sample-based numeric tests need numbers on both sides; otherwise use the count-based equivalent.
        if (!numeric && method is DriftMethod.KolmogorovSmirnov) method = DriftMethod.ChiSquare;
        if (!numeric && method is DriftMethod.Wasserstein) method = DriftMethod.JensenShannon;
        if (method == DriftMethod.ZTest && distinct > 2) method = DriftMethod.ChiSquare;
        return method;
    }

    private static long CategoryUnion(Column a, Column b)
    {
        // Numeric vs string after a type change: compare as text keys.
        var ka = ColumnData.Counts(a).Keys;
        var kb = ColumnData.Counts(b).Keys;
        return ka.Union(kb).LongCount();
    }
}
