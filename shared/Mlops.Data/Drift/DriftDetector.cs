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
    /// <summary>Numeric columns with at most this many distinct values are treated as categorical (Evidently's
    /// rule).</summary>
    public const int NumericCategoricalMaxDistinct = 5;

    /// <summary>Default threshold of p-value tests.</summary>
    public const double DefaultPValueThreshold = 0.05;

    /// <summary>Default threshold of distances.</summary>
    public const double DefaultDistanceThreshold = 0.1;

    /// <summary>True for methods whose statistic is a p-value check (drift when p &lt; threshold).</summary>
    public static bool IsPValueMethod(DriftMethod m) =>
        m is DriftMethod.KolmogorovSmirnov or DriftMethod.ChiSquare or DriftMethod.ZTest;

    /// <summary>
    /// Drift of <paramref name="current"/> against <paramref name="reference"/> (same column in two versions), as
    /// validation judges it: the column pair becomes two <see cref="DriftSample"/>s for <see cref="Judge"/>.
    /// </summary>
    public static DriftResult? Compute(
        Column reference,
        Column current,
        DriftColumnOptions columnOptions,
        ValidationOptions options,
        bool isLabel = false
    )
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(current);
        return Judge(current.Name, Sample(reference), Sample(current), columnOptions, options.DriftRules, isLabel);
    }

    private static DriftSample Sample(Column column) =>
        ColumnData.IsNumeric(column)
            ? DriftSample.AllNumbers(ColumnData.Sorted(column), () => ColumnData.Counts(column))
            : DriftSample.Categories(ColumnData.Counts(column), column.Kind == ColumnKind.Text);

    /// <summary>
    /// The one drift verdict of the system, used by validation (dataset version against the previous accepted one)
    /// and by monitoring (production window against the training reference): the same two samples and settings give the
    /// same method, statistic and verdict on both paths. Returns null when the method is <see
    /// cref="DriftMethod.None"/>, or for free text unless a method was asked for by name.
    /// </summary>
    /// <remarks>
    /// The statistics follow Evidently's defaults, chosen per column type and reference size (see the class summary):
    /// p-value tests are reliable and well calibrated on small samples but call every tiny shift significant on large
    /// ones, where a distance with a fixed threshold says how much moved instead. Numeric samples are compared as
    /// numbers only when both sides hold numbers; a type change falls back to comparing value counts.
    /// </remarks>
    /// <param name="column">Column name carried into the result.</param>
    /// <param name="reference">Reference side.</param>
    /// <param name="current">Current side.</param>
    /// <param name="columnOptions">The column's method and threshold.</param>
    /// <param name="rules">Size rule, minimum sizes and PSI bins.</param>
    /// <param name="isLabel">The label column (reported, judged by label shift instead).</param>
    public static DriftResult? Judge(
        string column,
        DriftSample reference,
        DriftSample current,
        DriftColumnOptions columnOptions,
        DriftRules rules,
        bool isLabel = false
    )
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(columnOptions);
        ArgumentNullException.ThrowIfNull(rules);
        if (columnOptions.Method == DriftMethod.None)
            return null;
        if (current.IsText && columnOptions.Method == DriftMethod.Auto)
            return null;

        bool numeric = reference.IsNumeric && current.IsNumeric;
        long refCount = reference.Count,
            curCount = current.Count;
        long distinct = numeric ? Math.Max(reference.Distinct, current.Distinct) : CategoryUnion(reference, current);
        bool categoricalLike = !numeric || distinct <= NumericCategoricalMaxDistinct;

        var method = ChooseMethod(columnOptions.Method, refCount, numeric, distinct, rules.SmallSampleMaxRows);
        // Two values on each side can still be three or four together ({0,1} then {5}): the Z-test needs the union
        // binary.
        if (method == DriftMethod.ZTest && CategoryUnion(reference, current) > 2)
            method = DriftMethod.ChiSquare;

        double threshold = columnOptions.Threshold
            ?? (IsPValueMethod(method) ? DefaultPValueThreshold : DefaultDistanceThreshold);
        bool insufficient = refCount < rules.MinRowsForDrift || curCount < rules.MinRowsForDrift;
        var r =
            refCount == 0 || curCount == 0
                ? new TestResult(double.NaN, null)
                : Statistic(method, reference, current, numeric && !categoricalLike, rules);
        bool crossed = IsPValueMethod(method)
            ? r.PValue is { } p && p < threshold
            : !double.IsNaN(r.Statistic) && r.Statistic >= threshold;
        return new DriftResult(
            column,
            method,
            r.Statistic,
            r.PValue,
            threshold,
            crossed && !insufficient,
            insufficient,
            refCount,
            curCount,
            isLabel
        );
    }

    private static TestResult Statistic(
        DriftMethod method,
        DriftSample reference,
        DriftSample current,
        bool continuous,
        DriftRules rules
    ) =>
        method switch
        {
            DriftMethod.KolmogorovSmirnov => DriftStatistics.KolmogorovSmirnovSorted(reference.Sorted, current.Sorted),
            DriftMethod.Wasserstein => new(
                DriftStatistics.WassersteinSorted(reference.Sorted, current.Sorted)
                    / Math.Max(reference.Std ?? 0, 1e-3),
                null
            ),
            DriftMethod.ChiSquare => DriftStatistics.ChiSquare(reference.Counts, current.Counts),
            DriftMethod.ZTest => DriftStatistics.ZTest(reference.Counts, current.Counts),
            // Histogram bins follow the population sizes, not a stored sample's, so both paths cut the same bins.
            DriftMethod.JensenShannon when continuous => new(
                DriftStatistics.JensenShannonSorted(reference.Sorted, current.Sorted, reference.Count + current.Count),
                null
            ),
            DriftMethod.JensenShannon => new(DriftStatistics.JensenShannon(reference.Counts, current.Counts), null),
            DriftMethod.Psi when continuous => new(
                DriftStatistics.PsiSorted(reference.Sorted, current.Sorted, rules.PsiBins),
                null
            ),
            DriftMethod.Psi => new(DriftStatistics.Psi(reference.Counts, current.Counts), null),
            DriftMethod.LInfinity => new(DriftStatistics.LInfinity(reference.Counts, current.Counts), null),
            _ => throw new DataException("data.options", $"Drift method {method} cannot be computed."),
        };

    /// <summary>
    /// The test a column pair gets: <paramref name="requested"/> unless it is <see cref="DriftMethod.Auto"/>, in which
    /// case the size rule above picks it from the reference's non-missing count. Sample-based numeric methods fall back
    /// to their count-based equivalents when either side is not numeric, and the Z-test to chi-square beyond two
    /// values. Public so that callers holding a reference summary (monitoring) rather than the rows choose the same
    /// test.
    /// </summary>
    /// <param name="requested">Method asked for in the options.</param>
    /// <param name="referenceCount">Non-missing values in the reference.</param>
    /// <param name="numeric">Both sides hold numbers.</param>
    /// <param name="distinct">Distinct values (numeric) or categories in the union of both sides.</param>
    /// <param name="smallSampleMaxRows">Largest reference treated as small (<see
    /// cref="ValidationOptions.SmallSampleMaxRows"/>).</param>
    public static DriftMethod ChooseMethod(
        DriftMethod requested,
        long referenceCount,
        bool numeric,
        long distinct,
        int smallSampleMaxRows
    )
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
        if (!numeric && method is DriftMethod.KolmogorovSmirnov)
            method = DriftMethod.ChiSquare;
        if (!numeric && method is DriftMethod.Wasserstein)
            method = DriftMethod.JensenShannon;
        if (method == DriftMethod.ZTest && distinct > 2)
            method = DriftMethod.ChiSquare;
        return method;
    }

    // Categories seen on either side (numbers keyed as text, so a type change still compares).
    private static long CategoryUnion(DriftSample a, DriftSample b) => a.Counts.Keys.Union(b.Counts.Keys).LongCount();
}
