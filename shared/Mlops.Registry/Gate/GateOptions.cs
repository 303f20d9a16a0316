namespace Mlops.Registry.Gate;

/// <summary>
/// When a candidate may replace production. Thresholds follow the change-threshold idea of TFMA and MLflow's
/// <c>MetricThreshold</c>: the primary metric must improve by at least an absolute and a relative margin, in the
/// metric's own direction, and no evaluated slice may get worse by more than <see cref="MaxSliceDrop"/>.
/// </summary>
public sealed record GateOptions
{
    /// <summary>The metric that decides (e.g. <c>auc</c>, <c>accuracy</c>, <c>rmse</c>).</summary>
    public string PrimaryMetric { get; init; } = "auc";

    /// <summary>Direction of the primary (and slice) metric; null = inferred from the name (see <see
    /// cref="MetricDirections"/>).</summary>
    public bool? HigherIsBetter { get; init; }

    /// <summary>Minimum improvement in metric units (e.g. 0.005 AUC). 0 = "not worse" suffices.</summary>
    public double MinAbsoluteImprovement { get; init; }

    /// <summary>Minimum improvement relative to production (e.g. 0.01 = 1%). 0 = no relative requirement.</summary>
    public double MinRelativeImprovement { get; init; }

    /// <summary>Largest allowed worsening of the primary metric on any slice, in metric units; null = slices not
    /// checked.</summary>
    public double? MaxSliceDrop { get; init; } = 0.05;

    /// <summary>Optional absolute floor (higher-is-better) or ceiling (lower-is-better) on the primary metric, checked
    /// even without production.</summary>
    public double? Bound { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> for impossible settings.</summary>
    public GateOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(PrimaryMetric))
            throw new ArgumentException("GateOptions.PrimaryMetric is required.");
        if (HigherIsBetter is null && MetricDirections.HigherIsBetter(PrimaryMetric) is null)
            throw new ArgumentException(
                $"GateOptions: the direction of metric '{PrimaryMetric}' is unknown; set HigherIsBetter."
            );
        if (!double.IsFinite(MinAbsoluteImprovement) || MinAbsoluteImprovement < 0)
            throw new ArgumentException("GateOptions.MinAbsoluteImprovement must be a finite number ≥ 0.");
        if (!double.IsFinite(MinRelativeImprovement) || MinRelativeImprovement < 0)
            throw new ArgumentException("GateOptions.MinRelativeImprovement must be a finite number ≥ 0.");
        if (MaxSliceDrop is double d && (!double.IsFinite(d) || d < 0))
            throw new ArgumentException("GateOptions.MaxSliceDrop must be a finite number ≥ 0.");
        if (Bound is double b && !double.IsFinite(b))
            throw new ArgumentException("GateOptions.Bound must be finite.");
        return this;
    }

    /// <summary>The effective direction of the primary metric.</summary>
    public bool IsHigherBetter => HigherIsBetter ?? MetricDirections.HigherIsBetter(PrimaryMetric) ?? true;
}

/// <summary>Known metric directions, so callers rarely need to state them.</summary>
public static class MetricDirections
{
    private static readonly HashSet<string> Higher = new(StringComparer.OrdinalIgnoreCase)
    {
        "auc",
        "roc_auc",
        "pr_auc",
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "macro_f1",
        "weighted_f1",
        "r2",
        "ndcg",
        "map",
    };

    private static readonly HashSet<string> Lower = new(StringComparer.OrdinalIgnoreCase)
    {
        "rmse",
        "mse",
        "mae",
        "mape",
        "logloss",
        "log_loss",
        "brier",
        "error",
        "error_rate",
        "ece",
    };

    /// <summary>True for higher-is-better metrics, false for lower-is-better ones, null when unknown.</summary>
    public static bool? HigherIsBetter(string metric) =>
        Higher.Contains(metric) ? true
        : Lower.Contains(metric) ? false
        : null;
}
