using Mlops.ML.Featurization;

namespace Mlops.ML.Models;

/// <summary>
/// One prediction. Classification: <see cref="Label"/> is the predicted class as it appeared in the training data,
/// <see cref="Probabilities"/> has one entry per <see cref="Model.Classes"/> entry, and <see cref="Value"/> is the
/// positive class probability (binary) or the winning probability (multiclass). Regression: <see cref="Value"/> is the
/// prediction.
/// </summary>
public sealed record Prediction(string? Label, double Value, double[]? Probabilities);

/// <summary>Predictions for a table: arrays indexed by row.</summary>
public sealed class PredictionBatch
{
    internal PredictionBatch(
        MlTask task,
        IReadOnlyList<string> classes,
        string?[]? labels,
        double[] values,
        double[]? probabilities,
        IReadOnlyList<InputIssue> issues
    )
    {
        Task = task;
        Classes = classes;
        Labels = labels;
        Values = values;
        Probabilities = probabilities;
        Issues = issues;
    }

    public MlTask Task { get; }
    public IReadOnlyList<string> Classes { get; }
    public int RowCount => Values.Length;

    /// <summary>Predicted class per row (classification only).</summary>
    public string?[]? Labels { get; }

    /// <summary>Regression value, binary positive-class probability, or multiclass winning probability.</summary>
    public double[] Values { get; }

    /// <summary>Row-major class probabilities (rows × classes), classification only.</summary>
    public double[]? Probabilities { get; }

    /// <summary>Missing columns and unseen categories met while predicting (warnings).</summary>
    public IReadOnlyList<InputIssue> Issues { get; }

    public double Probability(int row, int classIndex) => Probabilities![row * Classes.Count + classIndex];

    public Prediction this[int row] =>
        new(
            Labels?[row],
            Values[row],
            Probabilities is null ? null : Probabilities.AsSpan(row * Classes.Count, Classes.Count).ToArray()
        );
}
