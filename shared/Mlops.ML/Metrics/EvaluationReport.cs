namespace Mlops.ML.Metrics;

/// <summary>Counts of actual (rows) versus predicted (columns) classes, in <see cref="Labels"/> order.</summary>
public sealed record ConfusionMatrix(IReadOnlyList<string> Labels, int[][] Counts);

/// <summary>Metrics for the rows whose slice column equals <see cref="Value"/> (null = missing).</summary>
public sealed record SliceReport(
    string Column,
    string? Value,
    int RowCount,
    IReadOnlyDictionary<string, double> Metrics
);

/// <summary>
/// Result of <see cref="Evaluator.Evaluate"/>. <see cref="Metrics"/> uses fixed names: binary accuracy, precision,
/// recall, f1, auc, pr_auc, logloss; multiclass accuracy, macro_f1, micro_f1, logloss; regression rmse, mae, r2, mape.
/// </summary>
public sealed record EvaluationReport(
    MlTask Task,
    int RowCount,
    IReadOnlyDictionary<string, double> Metrics,
    string PrimaryMetric,
    bool HigherIsBetter,
    ConfusionMatrix? Confusion,
    double? Threshold,
    IReadOnlyList<SliceReport> Slices,
    IReadOnlyList<Featurization.InputIssue> Issues
)
{
    public double Primary => Metrics[PrimaryMetric];

    /// <summary>Primary metric name and direction for a task: auc (higher) for binary, accuracy (higher) for
    /// multiclass, rmse (lower) for regression.</summary>
    public static (string Name, bool HigherIsBetter) PrimaryFor(MlTask task) =>
        task switch
        {
            MlTask.Binary => ("auc", true),
            MlTask.Multiclass => ("accuracy", true),
            _ => ("rmse", false),
        };
}
