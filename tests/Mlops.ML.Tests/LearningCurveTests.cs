using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

/// <summary>Per-round curves for every tree engine, and stopping our GBDT between rounds (a sweep's early
/// termination).</summary>
public sealed class LearningCurveTests
{
    private static TrainingSpec Spec(string engine, int rounds, TrainerKind trainer = TrainerKind.Gbdt) =>
        new("target", MlTask.Binary)
        {
            Trainer = trainer,
            Options =
                trainer == TrainerKind.Forest
                    ? new Dictionary<string, object> { ["num_trees"] = rounds }
                    : new Dictionary<string, object>
                    {
                        ["engine"] = engine,
                        ["num_rounds"] = rounds,
                        ["min_data_in_leaf"] = 5,
                    },
            Validation = TestData.Split(TestData.Load("sk_breast_cancer")).Test,
        };

    [Theory]
    [InlineData("lightgbm", TrainerKind.Gbdt)]
    [InlineData("mlops", TrainerKind.Gbdt)]
    [InlineData("", TrainerKind.Forest)]
    public void Train_EachEngine_OnePointPerRoundWithGrowingElapsedTime(string engine, TrainerKind trainer)
    {
        var (train, _) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var result = ModelTrainer.Train(train, Spec(engine, 30, trainer));
        Assert.Equal(Enumerable.Range(1, 30), result.Curve.Select(r => r.Round));
        Assert.All(result.Curve, r => Assert.NotNull(r.Validation));
        Assert.True(
            result.Curve.Zip(result.Curve.Skip(1)).All(p => p.Second.Elapsed >= p.First.Elapsed),
            "elapsed time must not go back"
        );
        Assert.True(result.Curve[^1].Elapsed > 0);
        if (trainer == TrainerKind.Gbdt)
            Assert.True(
                result.Curve[^1].Train < result.Curve[0].Train / 2,
                $"boosting must lower the training loss: {result.Curve[0].Train} → {result.Curve[^1].Train}"
            );
    }

    [Fact]
    public void Train_StagedLightGbmCurve_EndsAtTheFinalModelsLoss()
    {
        var (train, _) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var spec = Spec("lightgbm", 20);
        var result = ModelTrainer.Train(train, spec);
        // The last staged point is the whole ensemble: the evaluator's log loss of its predictions.
        double logLoss = Metrics.Evaluator.Evaluate(result.Model, spec.Validation!).Metrics["logloss"];
        Assert.Equal(logLoss, result.Curve[^1].Validation!.Value, 3);
    }

    [Fact]
    public void Train_CallbackSaysStop_OurEngineStopsThereAndKeepsTheTreesSoFar()
    {
        var (train, _) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var seen = new List<int>();
        var spec = Spec("auto", 50) with
        {
            ContinueAfterRound = m =>
            {
                seen.Add(m.Round);
                return m.Round < 7;
            },
        };
        var result = ModelTrainer.Train(train, spec);
        Assert.Equal(7, result.StoppedAtRound);
        Assert.Equal(Enumerable.Range(1, 7), seen);
        Assert.Equal(7, result.Curve.Count);
        Assert.Equal(7, ((Gbdt.GbdtEnsemble)result.Model.Predictor).Trees.Count);
        Assert.Equal("mlops", result.Model.Metadata.Options["engine"]); // auto picks the engine that can stop
    }

    [Fact]
    public void Train_CallbackWithLightGbmEngine_IsRejected()
    {
        var (train, _) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var spec = Spec("lightgbm", 10) with { ContinueAfterRound = _ => true };
        var e = Assert.Throws<ArgumentException>(() => ModelTrainer.Train(train, spec));
        Assert.Contains("engine", e.Message);
    }
}
