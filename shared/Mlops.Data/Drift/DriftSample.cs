using Mlops.Core.Statistics;

namespace Mlops.Data.Drift;

/// <summary>
/// One side of a drift comparison, as the one drift judge (<see cref="DriftDetector.Judge"/>) reads it: validation
/// builds it from a whole column, monitoring from a reference summary (its sample or quantiles) and a window.
/// Sizes are those of the population (<see cref="Count"/>), never of a stored sample, so tests that depend on the size
/// (the size rule, histogram bin counts, insufficient data) decide the same on both paths.
/// </summary>
public sealed class DriftSample
{
    private readonly Func<IReadOnlyDictionary<string, long>> _countsFactory;
    private IReadOnlyDictionary<string, long>? _counts;

    // Counts are built on first use: a numeric column tested as numbers never needs them.
    private DriftSample(Func<IReadOnlyDictionary<string, long>> counts) => _countsFactory = counts;

    /// <summary>Non-missing values of the population the sample stands for.</summary>
    public long Count { get; private init; }

    /// <summary>Distinct non-missing values (numbers: exact; categories: the keys of <see cref="Counts"/>).</summary>
    public long Distinct { get; private init; }

    /// <summary>Numbers sorted ascending — every value, or equally spaced quantiles of them; null for
    /// categories.</summary>
    public double[]? Sorted { get; private init; }

    /// <summary>Population standard deviation of all the values (numbers): the Wasserstein normaliser.</summary>
    public double? Std { get; private init; }

    /// <summary>Free text: no distribution test unless one is asked for by name.</summary>
    public bool IsText { get; private init; }

    /// <summary>True when the sample holds numbers.</summary>
    public bool IsNumeric => Sorted is not null;

    /// <summary>Value counts (numbers keyed by their round-trip text, <c>"R"</c>), built on first use.</summary>
    public IReadOnlyDictionary<string, long> Counts => _counts ??= _countsFactory();

    /// <summary>A numeric side.</summary>
    /// <param name="sorted">Values (or quantiles) sorted ascending, NaN-free.</param>
    /// <param name="count">Non-missing values in the population.</param>
    /// <param name="distinct">Distinct values in the population.</param>
    /// <param name="std">Population standard deviation of the population.</param>
    /// <param name="counts">Value counts when asked (exact counts when the caller has them, else those of the
    /// sample).</param>
    public static DriftSample Numbers(
        double[] sorted,
        long count,
        long distinct,
        double std,
        Func<IReadOnlyDictionary<string, long>>? counts = null
    )
    {
        ArgumentNullException.ThrowIfNull(sorted);
        return new DriftSample(counts ?? (() => SortedValues.Counts(sorted)))
        {
            Count = count,
            Distinct = distinct,
            Sorted = sorted,
            Std = std,
        };
    }

    /// <summary>A numeric side holding every value (its size, distinct count and deviation are computed
    /// here).</summary>
    public static DriftSample AllNumbers(double[] sorted, Func<IReadOnlyDictionary<string, long>>? counts = null)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        return Numbers(
            sorted,
            sorted.LongLength,
            SortedValues.DistinctCount(sorted),
            SortedValues.PopulationStd(sorted),
            counts
        );
    }

    /// <summary>A categorical (or, with <paramref name="isText"/>, free-text) side from its value counts.</summary>
    /// <param name="counts">Value counts (possibly cut to the most frequent categories).</param>
    /// <param name="isText">Free text.</param>
    /// <param name="count">Non-missing values of the population when <paramref name="counts"/> were cut; default their
    /// sum.</param>
    public static DriftSample Categories(
        IReadOnlyDictionary<string, long> counts,
        bool isText = false,
        long? count = null
    )
    {
        ArgumentNullException.ThrowIfNull(counts);
        return new DriftSample(() => counts)
        {
            Count = count ?? counts.Values.Sum(),
            Distinct = counts.Count,
            IsText = isText,
        };
    }
}

/// <summary>The settings a drift verdict depends on besides the column's own method and threshold.</summary>
/// <param name="SmallSampleMaxRows">Reference sizes up to this use p-value tests (Evidently's size rule).</param>
/// <param name="MinRowsForDrift">Fewer non-missing values on either side: insufficient data, never drift.</param>
/// <param name="PsiBins">Bins of PSI on numeric columns (reference quantile bins).</param>
public sealed record DriftRules(int SmallSampleMaxRows = 1000, int MinRowsForDrift = 30, int PsiBins = 10);
