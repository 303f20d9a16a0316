using Mlops.ML.Metrics;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

public class ThresholdTests
{
    [Fact]
    public void Choose_SeparableScores_PicksCutBetweenClasses()
    {
        double[] p = [0.1, 0.2, 0.3, 0.35, 0.4, 0.9];
        bool[] positive = [false, false, false, true, true, true];
        var (threshold, value) = ThresholdRule.Choose(p, positive, "accuracy");
        Assert.Equal(0.35, threshold);
        Assert.Equal(1.0, value);
        Assert.Equal(4.0 / 6, ThresholdRule.MetricAt(p, positive, "accuracy", 0.5), 12);
    }

    [Theory]
    [InlineData("auto", true, "f1")]
    [InlineData("auto:balanced_accuracy", true, "balanced_accuracy")]
    [InlineData("0.3", false, "f1")]
    public void Parse_AcceptedForms(string text, bool auto, string metric)
    {
        var rule = ThresholdRule.Parse(text);
        Assert.Equal(auto, rule.Auto);
        Assert.Equal(metric, rule.Metric);
    }

    [Theory]
    [InlineData("auto:rmse")]
    [InlineData("1.5")]
    [InlineData("soon")]
    public void Parse_BadValue_ThrowsNamingTheOption(string text)
    {
        var ex = Assert.Throws<ArgumentException>(() => ThresholdRule.Parse(text));
        Assert.Equal("threshold", ex.ParamName);
    }

    [Fact]
    public void Train_AutoThreshold_StoredInModelUsedByPredictAndSurvivesSave()
    {
        var (train, test) = TestData.Split(TestData.Load("sk_breast_cancer"));
        var spec = new TrainingSpec("target", MlTask.Binary) { Threshold = ThresholdRule.Maximizing("accuracy") };
        var model = ModelTrainer.Train(train, spec).Model;

        Assert.Equal(
            model.Threshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            model.Metadata.Tags["threshold"]
        );
        Assert.True(
            double.Parse(model.Metadata.Tags["threshold.validation"], System.Globalization.CultureInfo.InvariantCulture)
                >= double.Parse(
                    model.Metadata.Tags["threshold.validation_at_0.5"],
                    System.Globalization.CultureInfo.InvariantCulture
                )
        );
        var batch = model.PredictBatch(test);
        for (int i = 0; i < batch.RowCount; i++)
            Assert.Equal(batch.Values[i] >= model.Threshold ? model.Classes[1] : model.Classes[0], batch.Labels![i]);
        var reloaded = Model.FromJson(model.ToJson());
        Assert.Equal(model.Threshold, reloaded.Threshold);
        Assert.Equal(
            Evaluator.Evaluate(model, test).Metrics["accuracy"],
            Evaluator.Evaluate(reloaded, test).Metrics["accuracy"]
        );
    }

    [Fact]
    public void Train_ThresholdOnRegression_Throws()
    {
        var data = TestData.Load("sk_diabetes");
        var ex = Assert.Throws<ArgumentException>(() =>
            ModelTrainer.Train(
                data,
                new TrainingSpec("target", MlTask.Regression) { Threshold = ThresholdRule.Fixed(0.3) }
            )
        );
        Assert.Equal("threshold", ex.ParamName);
    }
}
