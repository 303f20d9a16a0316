using System.Text.Json;
using Mlops.ML.Explain;
using Mlops.ML.Models;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Analysis;

/// <summary>
/// Attribution drift of a window: the monitored version explains a sample of the window's logged rows (mean |SHAP| per
/// column, as at registration over the held-out rows), and each column's share of the total attribution is compared
/// with the registration-time share. <see cref="MaxShift"/> is the largest absolute change of one column's share.
/// </summary>
/// <param name="Status"><c>ok</c>, <c>breach</c> (max shift ≥ threshold) or <c>insufficient_data</c>.</param>
/// <param name="ReferenceRows">Held-out rows behind the registration-time importance.</param>
/// <param name="WindowRows">Window rows explained.</param>
/// <param name="MaxShift">Largest |change| of one column's share.</param>
/// <param name="TotalVariation">Half the summed |changes| (0: same shares, 1: disjoint).</param>
/// <param name="Threshold">Shift that is a breach (the <c>attribution_drift</c> condition's <c>share</c>, else the
/// default).</param>
/// <param name="Columns">Every column's reference and window share, largest change first.</param>
/// <param name="Window">The window's global importance (mean |SHAP| per column).</param>
/// <param name="Message">One sentence naming the columns that moved most.</param>
public sealed record AttributionDriftResult(
    string Status,
    int ReferenceRows,
    int WindowRows,
    double? MaxShift,
    double? TotalVariation,
    double Threshold,
    IReadOnlyList<AttributionShift> Columns,
    IReadOnlyList<ColumnAttribution> Window,
    string Message
)
{
    /// <summary>True when the shift reached the threshold.</summary>
    public bool Breached => Status == "breach";
}

/// <summary>Computes <see cref="AttributionDriftResult"/> for a monitor run.</summary>
public static class AttributionAnalysis
{
    /// <summary>Shift of one column's share that the verdict calls a breach when no <c>attribution_drift</c> condition
    /// sets one.</summary>
    public const double DefaultShift = 0.2;

    /// <summary>Fewest explained window rows for a verdict.</summary>
    public const int MinRows = 30;

    /// <summary>
    /// The drift of <paramref name="window"/>'s sampled rows explained by <paramref name="model"/> against
    /// <paramref name="reference"/>'s registration-time attribution; null when either is missing (nothing to compare).
    /// Rows the model cannot read (wrong types) are skipped, as serving would have refused them.
    /// </summary>
    public static AttributionDriftResult? Compute(
        ReferenceProfile reference,
        WindowData window,
        Model? model,
        MonitoringOptions options
    )
    {
        if (reference.Attribution is not { } baseline || model is null || !ModelExplainer.CanExplain(model))
            return null;
        double threshold = options.Retrain?.When.FirstOrDefault(c => c.Signal == "attribution_drift")?.Share
            ?? DefaultShift;
        var explainer = ModelExplainer.For(model);
        var explanations = new List<Explanation>(window.SampledInputs.Count);
        foreach (var json in window.SampledInputs)
        {
            using var doc = JsonDocument.Parse(json);
            if (explainer.TryExplain(doc.RootElement, out var e, out _))
                explanations.Add(e!);
        }
        var current = AttributionSummary.FromExplanations(explainer.Method, explainer.Columns, explanations);
        if (explanations.Count < MinRows)
            return new AttributionDriftResult(
                "insufficient_data",
                baseline.Rows,
                explanations.Count,
                null,
                null,
                threshold,
                [],
                current.Columns,
                $"Only {explanations.Count} window rows could be explained; {MinRows} are needed."
            );
        var drift = AttributionDrift.Compare(baseline, current);
        var moved = drift.Columns.Take(3).Select(c => $"{c.Column} {c.ReferenceShare:P0} → {c.CurrentShare:P0}");
        string status = drift.MaxShift >= threshold ? "breach" : "ok";
        return new AttributionDriftResult(
            status,
            baseline.Rows,
            explanations.Count,
            drift.MaxShift,
            drift.TotalVariation,
            threshold,
            drift.Columns,
            current.Columns,
            $"Largest attribution share change {drift.MaxShift:P1} (limit {threshold:P0}) over {explanations.Count} rows: {string.Join(", ", moved)}."
        );
    }
}
