namespace Mlops.ML.Training;

/// <summary>Progress of a training run, reported once per boosting round or optimizer iteration.</summary>
/// <param name="Stage">What is running, e.g. <c>gbdt</c>, <c>linear</c>, <c>auto:gbdt</c>, <c>binning</c>.</param>
/// <param name="Iteration">1-based round just completed.</param>
/// <param name="Total">Planned rounds (early stopping may end sooner).</param>
/// <param name="TrainMetric">Training loss metric after this round (see <see cref="RoundMetrics"/>).</param>
/// <param name="ValidationMetric">Validation loss metric, when a validation split is used.</param>
public readonly record struct TrainingProgress(
    string Stage,
    int Iteration,
    int Total,
    double TrainMetric,
    double? ValidationMetric
);

/// <summary>One point of a learning curve: the objective's metric (logloss or rmse) on training and validation
/// rows.</summary>
/// <param name="Elapsed">
/// Seconds of training when this round ended. Our engines measure it; for Microsoft.ML's engines, which train in one
/// call, it is the total training time spread evenly over the rounds (see <c>TreeModelTraining.StagedCurve</c>).
/// </param>
public readonly record struct RoundMetrics(int Round, double Train, double? Validation, double Elapsed = 0);
