using Mlops.ML.Metrics;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

public class TrainingQualityTests
{
    [Theory]
    [InlineData(TrainerKind.Gbdt, 0.98)]
    [InlineData(TrainerKind.Linear, 0.99)]
    public void Train_BreastCancerBinary_HighAuc(TrainerKind trainer, double minAuc)
    {
        var (train, test) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var result = ModelTrainer.Train(train, new TrainingSpec("target", MlTask.Binary) { Trainer = trainer });
        var report = Evaluator.Evaluate(result.Model, test);
        Assert.True(report.Metrics["auc"] >= minAuc, $"auc {report.Metrics["auc"]}");
        Assert.True(report.Metrics["accuracy"] >= 0.93, $"accuracy {report.Metrics["accuracy"]}");
        Assert.Equal("auc", report.PrimaryMetric);
        Assert.Equal(test.RowCount, report.Confusion!.Counts.Sum(r => r.Sum()));
    }

    [Theory]
    [InlineData(TrainerKind.Gbdt)]
    [InlineData(TrainerKind.Linear)]
    public void Train_IrisMulticlass_AccurateWithCalibratedProbabilities(TrainerKind trainer)
    {
        var (train, test) = TestData.Split(TestData.Load("sk_iris"));
        var result = ModelTrainer.Train(train, new TrainingSpec("target", MlTask.Multiclass) { Trainer = trainer });
        var report = Evaluator.Evaluate(result.Model, test);
        Assert.True(report.Metrics["accuracy"] >= 0.9, $"accuracy {report.Metrics["accuracy"]}");
        Assert.True(report.Metrics["logloss"] < 0.5, $"logloss {report.Metrics["logloss"]}");
        Assert.Equal(new[] { "0", "1", "2" }, result.Model.Classes);
    }

    [Fact]
    public void Train_WineGbdt_Accurate()
    {
        var (train, test) = TestData.Split(TestData.Load("sk_wine"));
        var result = ModelTrainer.Train(train, new TrainingSpec("target", MlTask.Multiclass));
        Assert.True(Evaluator.Evaluate(result.Model, test).Metrics["accuracy"] >= 0.9);
    }

    [Theory]
    [InlineData(TrainerKind.Linear, 66)]
    [InlineData(TrainerKind.Gbdt, 66)]
    public void Train_DiabetesRegression_RmseBelowBound(TrainerKind trainer, double maxRmse)
    {
        var (train, test) = TestData.Split(TestData.Load("sk_diabetes"));
        var result = ModelTrainer.Train(train, new TrainingSpec("target", MlTask.Regression) { Trainer = trainer });
        var report = Evaluator.Evaluate(result.Model, test);
        Assert.True(report.Metrics["rmse"] < maxRmse, $"rmse {report.Metrics["rmse"]}");
        Assert.True(report.Metrics["r2"] > 0.3, $"r2 {report.Metrics["r2"]}");
        Assert.False(report.HigherIsBetter);
    }

    [Fact]
    public void Train_AutoOnBreastCancer_RecordsBothCandidatesAndPicksBetter()
    {
        var (train, test) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var result = ModelTrainer.Train(
            train,
            new TrainingSpec("target", MlTask.Binary) { Trainer = TrainerKind.Auto }
        );
        Assert.Equal(["forest", "gbdt", "linear"], result.CandidateScores.Keys.Order());
        // A tree model is only chosen when it is better (by more than the fold noise); otherwise the simpler linear
        // model wins.
        if (result.Trainer != TrainerKind.Linear)
            Assert.True(result.CandidateScores[result.Trainer.ToName()] > result.CandidateScores["linear"]);
        Assert.True(Evaluator.Evaluate(result.Model, test).Metrics["auc"] >= 0.98);
    }

    [Fact]
    public void Train_AutoOnSyntheticNonlinearData_ChoosesGbdt()
    {
        // y depends on an interaction a linear model cannot express.
        var rng = new Random(5);
        var sb = new System.Text.StringBuilder("a,b,y\n");
        for (int i = 0; i < 600; i++)
        {
            double a = rng.NextDouble() * 2 - 1,
                b = rng.NextDouble() * 2 - 1;
            sb.Append(System.FormattableString.Invariant($"{a},{b},{(a * b > 0 ? 1 : 0)}\n"));
        }
        var data = Mlops.Data.Tabular.CsvTableReader.Parse(sb.ToString());
        var result = ModelTrainer.Train(data, new TrainingSpec("y", MlTask.Binary) { Trainer = TrainerKind.Auto });
        Assert.Equal(TrainerKind.Gbdt, result.Trainer);
        Assert.Equal("auc", result.SelectionMetric);
    }

    [Fact]
    public void Train_EarlyStopping_StopsBeforeRoundLimitAndRecordsCurve()
    {
        var (train, _) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var spec = new TrainingSpec("target", MlTask.Binary)
        {
            Options = new Dictionary<string, object>
            {
                ["num_rounds"] = 2000,
                ["learning_rate"] = 0.3,
                ["early_stopping_rounds"] = 10,
                ["validation_fraction"] = 0.25,
            },
        };
        var result = ModelTrainer.Train(train, spec);
        Assert.True(result.BestIteration < 2000);
        Assert.True(result.Curve.Count < 2000);
        Assert.All(result.Curve, p => Assert.NotNull(p.Validation));
        Assert.Equal(result.BestIteration, ((Gbdt.GbdtEnsemble)result.Model.Predictor).Trees.Count);
    }
}
