namespace Mlops.ML;

/// <summary>What a model predicts.</summary>
public enum MlTask
{
    /// <summary>Two classes; the second entry of <see cref="Models.Model.Classes"/> is the positive class.</summary>
    Binary,

    /// <summary>Three or more classes, predicted with a probability each.</summary>
    Multiclass,

    /// <summary>A real number.</summary>
    Regression,
}

/// <summary>Which trainer <see cref="Training.ModelTrainer"/> runs.</summary>
public enum TrainerKind
{
    /// <summary>Histogram gradient-boosted decision trees (<see cref="Gbdt.GbdtTrainer"/>).</summary>
    Gbdt,

    /// <summary>Logistic regression (classification) or ridge regression (<see
    /// cref="Linear.LinearTrainer"/>).</summary>
    Linear,

    /// <summary>Random forest (Microsoft.ML FastForest, converted to our tree format); binary classification and
    /// regression.</summary>
    Forest,

    /// <summary>Trains every candidate on a validation split (cross-validation on small data), keeps the better one,
    /// retrains it on all data.</summary>
    Auto,
}

/// <summary>The single exception type of the ML library; <see cref="Code"/> is stable for mapping to HTTP status codes
/// or exit codes.</summary>
public sealed class MlException : Exception
{
    public MlException(string code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    /// <summary>e.g. <c>bad_target</c>, <c>bad_data</c>, <c>model_format</c>, <c>unsupported_version</c>.</summary>
    public string Code { get; }
}

/// <summary>Lower-case names of tasks and trainers as used in files, options and the CLI.</summary>
public static class MlTaskNames
{
    public static string ToName(this MlTask t) =>
        t switch
        {
            MlTask.Binary => "binary",
            MlTask.Multiclass => "multiclass",
            _ => "regression",
        };

    public static string ToName(this TrainerKind t) =>
        t switch
        {
            TrainerKind.Gbdt => "gbdt",
            TrainerKind.Linear => "linear",
            TrainerKind.Forest => "forest",
            _ => "auto",
        };

    public static MlTask ParseTask(string s) =>
        s.ToLowerInvariant() switch
        {
            "binary" => MlTask.Binary,
            "multiclass" => MlTask.Multiclass,
            "regression" => MlTask.Regression,
            _ => throw new ArgumentException($"Unknown task '{s}' (binary, multiclass or regression).", nameof(s)),
        };

    public static TrainerKind ParseTrainer(string s) =>
        s.ToLowerInvariant() switch
        {
            "gbdt" => TrainerKind.Gbdt,
            "linear" => TrainerKind.Linear,
            "forest" => TrainerKind.Forest,
            "auto" => TrainerKind.Auto,
            _ => throw new ArgumentException($"Unknown trainer '{s}' (gbdt, linear, forest or auto).", nameof(s)),
        };
}
