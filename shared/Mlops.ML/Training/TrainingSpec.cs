using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Models;

namespace Mlops.ML.Training;

/// <summary>
/// What to train. <see cref="Options"/> holds snake_case hyperparameters (see <see cref="Gbdt.GbdtOptions.Names"/> and
/// <see cref="Linear.LinearOptions.Names"/>); with <see cref="TrainerKind.Auto"/> a key goes to every trainer that
/// knows it, and a <c>gbdt.</c> or <c>linear.</c> prefix targets one (e.g. <c>gbdt.l2</c>). Unknown keys are rejected.
/// </summary>
public sealed record TrainingSpec(string Target, MlTask Task)
{
    public TrainerKind Trainer { get; init; } = TrainerKind.Gbdt;
    public IReadOnlyDictionary<string, object>? Options { get; init; }

    /// <summary>Seed for every random choice (sampling, splits). Same data + spec + seed ⇒ same model.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Optional validation data for learning curves and early stopping (otherwise a split of the training data
    /// is used when early stopping is on).</summary>
    public DataTable? Validation { get; init; }

    /// <summary>Columns not to use as features (e.g. identifiers).</summary>
    public IReadOnlyList<string>? IgnoreColumns { get; init; }
    public FeaturizerOptions? Featurization { get; init; }

    /// <summary>Binary decision threshold: fixed (default 0.5) or chosen on out-of-fold validation predictions (<see
    /// cref="ThresholdRule.Maximizing"/>).</summary>
    public ThresholdRule Threshold { get; init; } = ThresholdRule.Default;

    /// <summary>
    /// Called after every boosting round of the final GBDT fit with that round's metrics; returning false stops
    /// training there and keeps the trees grown so far (a sweep's early termination). Only our GBDT engine can stop
    /// mid-training, so a callback makes <c>engine=auto</c> choose it and <c>engine=lightgbm</c> an error. Not called
    /// during the cross-validation fits of <see cref="TrainerKind.Auto"/> or of an automatic threshold.
    /// </summary>
    public Func<RoundMetrics, bool>? ContinueAfterRound { get; init; }
}

/// <summary>The outcome of <see cref="ModelTrainer.Train"/>.</summary>
/// <param name="Model">The trained model (trained on all given rows).</param>
/// <param name="Trainer">The trainer used (for Auto, the winner).</param>
/// <param name="Curve">Per-round training/validation metric (<paramref name="CurveMetric"/>); for linear models, the
/// optimizer objective per iteration.</param>
/// <param name="BestIteration">Rounds kept (after early stopping) or optimizer iterations.</param>
/// <param name="CandidateScores">For Auto: the selection metric of each candidate (e.g. <c>gbdt</c> → 0.991).</param>
/// <param name="SelectionMetric">For Auto: the metric used to choose.</param>
/// <param name="StoppedAtRound">The round after which <see cref="TrainingSpec.ContinueAfterRound"/> stopped training,
/// if it did.</param>
public sealed record TrainingResult(
    Model Model,
    TrainerKind Trainer,
    IReadOnlyList<RoundMetrics> Curve,
    string CurveMetric,
    int BestIteration,
    IReadOnlyDictionary<string, double> CandidateScores,
    string? SelectionMetric,
    TimeSpan Elapsed,
    int? StoppedAtRound = null
);
