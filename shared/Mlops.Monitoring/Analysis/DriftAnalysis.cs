using Mlops.Data.Drift;
using Mlops.Data.Validation;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Analysis;

/// <summary>Dataset-level drift: the per-feature results and the share-of-drifted-columns verdict (Evidently's
/// rule).</summary>
/// <param name="Features">One result per tested feature (text columns are not tested).</param>
/// <param name="Tested">Features with enough values on both sides.</param>
/// <param name="Drifted">Features whose test crossed its threshold.</param>
/// <param name="Share">Drifted / tested.</param>
/// <param name="ShareThreshold">Share at which the dataset counts as drifted.</param>
/// <param name="Breached">Share ≥ threshold (and at least one feature tested).</param>
public sealed record DataDriftResult(
    IReadOnlyList<DriftResult> Features,
    int Tested,
    int Drifted,
    double Share,
    double ShareThreshold,
    bool Breached
);

/// <summary>Drift of the model's outputs: the score distribution and, for classifiers, the predicted-class
/// mix.</summary>
/// <param name="Score">Score drift (null without scores on either side).</param>
/// <param name="Labels">Predicted-class drift (classification).</param>
/// <param name="Breached">Either drifted.</param>
public sealed record PredictionDriftResult(DriftResult? Score, DriftResult? Labels, bool Breached);

/// <summary>
/// Drift of a production window against a <see cref="ReferenceProfile"/>, judged by the data library's one drift
/// verdict (<see cref="DriftDetector.Judge"/>, the one validation uses): the reference side is its stored sample (all
/// values for small references, 1001 quantiles otherwise — Wasserstein and histogram distances then agree with the
/// full-data value to within one quantile step) with the full reference's size, deviation and counts; the window side
/// is its full sorted values or counts.
/// </summary>
public static class DriftAnalysis
{
    /// <summary>Per-feature drift and the dataset verdict.</summary>
    public static DataDriftResult Features(WindowData window, MonitoringOptions options)
    {
        var results = new List<DriftResult>();
        foreach (var column in window.Columns)
            if (Column(column, options) is { } r)
                results.Add(r);
        int tested = results.Count(r => !r.InsufficientData);
        int drifted = results.Count(r => r.Drifted);
        double share = tested == 0 ? 0 : (double)drifted / tested;
        return new DataDriftResult(
            results,
            tested,
            drifted,
            share,
            options.DriftShare,
            tested > 0 && share >= options.DriftShare
        );
    }

    /// <summary>Drift of the score and of the predicted classes.</summary>
    public static PredictionDriftResult Predictions(
        WindowData window,
        ReferenceProfile reference,
        MonitoringOptions options
    )
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
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(options);
        var reference = current.Reference;
        if (reference.Kind == ReferenceKind.Text)
            return null; // the reference keeps no text values to compare with
        return DriftDetector.Judge(
            reference.Name,
            ReferenceSample(reference),
            WindowSample(current),
            options.Drift,
            options.DriftRules
        );
    }

    private static DriftSample ReferenceSample(FeatureReference reference)
    {
        if (reference.Kind != ReferenceKind.Numeric)
            return DriftSample.Categories(reference.Counts ?? new Dictionary<string, long>(), count: reference.Count);
        // Count-based tests need the reference's exact counts; a numeric reference without them is compared on its
        // sample.
        Func<IReadOnlyDictionary<string, long>>? exactCounts = reference.Counts is { } counts ? () => counts : null;
        return DriftSample.Numbers(
            reference.Sample ?? [],
            reference.Count,
            reference.Distinct,
            reference.Std ?? 0,
            exactCounts
        );
    }

    private static DriftSample WindowSample(ColumnWindow current) =>
        current.Reference.Kind == ReferenceKind.Numeric && current.Sorted is { } sorted
            ? DriftSample.AllNumbers(sorted)
            : DriftSample.Categories(current.CountsForTest(), count: current.Count);
}
