using Mlops.Data.Drift;
using Mlops.Data.Validation;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Analysis;

/// <summary>Dataset-level drift: the per-feature results and the share-of-drifted-columns verdict (Evidently's rule).</summary>
/// <param name="Features">One result per tested feature (text columns are not tested).</param>
/// <param name="Tested">Features with enough values on both sides.</param>
/// <param name="Drifted">Features whose test crossed its threshold.</param>
/// <param name="Share">Drifted / tested.</param>
/// <param name="ShareThreshold">Share at which the dataset counts as drifted.</param>
/// <param name="Breached">Share ≥ threshold (and at least one feature tested).</param>
public sealed record DataDriftResult(IReadOnlyList<DriftResult> Features, int Tested, int Drifted, double Share, double ShareThreshold, bool Breached);

/// <summary>Drift of the model's outputs: the score distribution and, for classifiers, the predicted-class mix.</summary>
/// <param name="Score">Score drift (null without scores on either side).</param>
/// <param name="Labels">Predicted-class drift (classification).</param>
/// <param name="Breached">Either drifted.</param>
public sealed record PredictionDriftResult(DriftResult? Score, DriftResult? Labels, bool Breached);

/// <summary>
/// Drift of a production window against a <see cref="ReferenceProfile"/>. The test is chosen exactly as the data
/// library chooses it (<see cref="DriftDetector.ChooseMethod"/>, keyed on the reference's full row count) and computed
/// with the data library's statistics: on the reference's stored sample (all values for small references, 1001
/// quantiles otherwise — Wasserstein and histogram distances then agree with the full-data value to within one quantile
/// step) and on the window's full sorted values or counts.
/// </summary>
public static class DriftAnalysis
{
    /// <summary>Per-feature drift and the dataset verdict.</summary>
    public static DataDriftResult Features(WindowData window, MonitoringOptions options)
    {
        var results = new List<DriftResult>();
        foreach (var column in window.Columns)
            if (Column(column, options) is { } r) results.Add(r);
        int tested = results.Count(r => !r.InsufficientData);
        int drifted = results.Count(r => r.Drifted);
        double share = tested == 0 ? 0 : (double)drifted / tested;
        return new DataDriftResult(results, tested, drifted, share, options.DriftShare, tested > 0 && share >= options.DriftShare);
    }

    /// <summary>Drift of the score and of the predicted classes.</summary>
    public static PredictionDriftResult Predictions(WindowData window, ReferenceProfile reference, MonitoringOptions options)
    {
        var score = Column(window.Score, options);
        DriftResult? labels = null;
        if (reference.PredictedLabels is not null && window.PredictedLabels.Counts is { Count: > 0 })
            labels = Column(window.PredictedLabels, options);
        return new PredictionDriftResult(score, labels, score?.Drifted == true || labels?.Drifted == true);
    }

    /// <summary>Drift of one window column against its reference; null for text columns or when drift is off.</summary>
    public static DriftResult? Column(ColumnWindow current, MonitoringOptions options)
    {
        var reference = current.Reference;
        if (options.Drift.Method == DriftMethod.None || reference.Kind == ReferenceKind.Text) return null;
        bool numeric = reference.Kind == ReferenceKind.Numeric && current.Sorted is not null;
        long currentDistinct = numeric ? DistinctSorted(current.Sorted!) : current.Counts?.Count ?? 0;
        long distinct = numeric
            ? Math.Max(reference.Distinct, currentDistinct)
            : ((IEnumerable<string>?)reference.Counts?.Keys ?? []).Union((IEnumerable<string>?)current.Counts?.Keys ?? []).LongCount();
        var method = DriftDetector.ChooseMethod(options.Drift.Method, reference.Count, numeric, distinct, options.SmallSampleMaxRows);
        bool countBased = !numeric || distinct <= DriftDetector.NumericCategoricalMaxDistinct;
        long refCount = reference.Count, curCount = current.Count;
        double threshold = options.Drift.Threshold ?? (DriftDetector.IsPValueMethod(method) ? DriftDetector.DefaultPValueThreshold : DriftDetector.DefaultDistanceThreshold);
        bool insufficient = refCount < options.MinRowsForDrift || curCount < options.MinRowsForDrift;
        TestResult r = refCount == 0 || curCount == 0 ? new TestResult(double.NaN, null) : Statistic(method, reference, current, numeric, countBased);
        bool crossed = DriftDetector.IsPValueMethod(method)
            ? r.PValue is { } p && p < threshold
            : !double.IsNaN(r.Statistic) && r.Statistic >= threshold;
        return new DriftResult(reference.Name, method, r.Statistic, r.PValue, threshold, crossed && !insufficient, insufficient, refCount, curCount);
    }

    private static TestResult Statistic(DriftMethod method, FeatureReference reference, ColumnWindow current, bool numeric, bool countBased)
    {
        var sample = reference.Sample ?? [];
        var sorted = current.Sorted ?? [];
        // Count-based methods need the reference's counts; a numeric reference without them is compared on its sample.
        IReadOnlyDictionary<string, long> RefCounts() => reference.Counts ?? FeatureSummaries.NumericCounts(sample);
        return method switch
        {
            DriftMethod.KolmogorovSmirnov => DriftStatistics.KolmogorovSmirnovSorted(sample, sorted),
            DriftMethod.Wasserstein => new(DriftStatistics.WassersteinSorted(sample, sorted) / Math.Max(reference.Std ?? 0, 1e-3), null),
            DriftMethod.ChiSquare => DriftStatistics.ChiSquare(RefCounts(), current.CountsForTest()),
            DriftMethod.ZTest => DriftStatistics.ZTest(RefCounts(), current.CountsForTest()),
            DriftMethod.JensenShannon when numeric && !countBased => new(DriftStatistics.JensenShannonSorted(sample, sorted), null),
            DriftMethod.JensenShannon => new(DriftStatistics.JensenShannon(RefCounts(), current.CountsForTest()), null),
            DriftMethod.Psi when numeric && !countBased => new(DriftStatistics.PsiSorted(sample, sorted), null),
            DriftMethod.Psi => new(DriftStatistics.Psi(RefCounts(), current.CountsForTest()), null),
            DriftMethod.LInfinity => new(DriftStatistics.LInfinity(RefCounts(), current.CountsForTest()), null),
            _ => throw new MonitoringException("monitoring.config", $"Drift method {method} cannot be computed."),
        };
    }

    internal static long DistinctSorted(ReadOnlySpan<double> sorted)
    {
        if (sorted.IsEmpty) return 0;
        long d = 1;
        for (int i = 1; i < sorted.Length; i++) if (sorted[i] != sorted[i - 1]) d++;
        return d;
    }
}
