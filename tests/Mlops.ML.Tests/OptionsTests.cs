using Mlops.ML.Gbdt;
using Mlops.ML.Linear;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

public class OptionsTests
{
    [Theory]
    [InlineData("num_leaves", 1)]
    [InlineData("learning_rate", 0.0)]
    [InlineData("feature_fraction", 1.5)]
    [InlineData("max_bins", 300)]
    public void GbdtOptions_InvalidValue_ThrowsNamingOption(string name, double value)
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            GbdtOptions.FromDictionary(new Dictionary<string, object> { [name] = value })
        );
        Assert.Equal(name, ex.ParamName);
    }

    [Fact]
    public void Train_UnknownOption_ThrowsNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ModelTrainer.Train(
                TestData.Load("sk_iris"),
                new TrainingSpec("target", MlTask.Multiclass)
                {
                    Options = new Dictionary<string, object> { ["num_leafs"] = 8 },
                }
            )
        );
        Assert.Contains("num_leafs", ex.Message);
    }

    [Fact]
    public void Train_AutoWithPrefixedOptions_RoutesToEachTrainer()
    {
        var r = ModelTrainer.Train(
            TestData.Load("sk_iris"),
            new TrainingSpec("target", MlTask.Multiclass)
            {
                Trainer = TrainerKind.Auto,
                Options = new Dictionary<string, object> { ["gbdt.num_rounds"] = 5, ["linear.l2"] = 2.0 },
            }
        );
        var options = r.Model.Metadata.Options;
        Assert.Equal(
            r.Trainer == TrainerKind.Gbdt ? "5" : "2",
            options[r.Trainer == TrainerKind.Gbdt ? "num_rounds" : "l2"].ToString()
        );
    }

    [Fact]
    public void LinearOptions_StringNumbers_Parsed()
    {
        Assert.Equal(0.5, LinearOptions.FromDictionary(new Dictionary<string, object> { ["l2"] = "0.5" }).L2);
    }

    [Fact]
    public void Train_BinaryWithThreeClasses_ThrowsBadTarget()
    {
        var ex = Assert.Throws<MlException>(() =>
            ModelTrainer.Train(TestData.Load("sk_iris"), new TrainingSpec("target", MlTask.Binary))
        );
        Assert.Equal("bad_target", ex.Code);
        Assert.Contains("exactly 2 classes", ex.Message);
    }

    [Fact]
    public void Train_RegressionOnTextTarget_ThrowsBadTarget()
    {
        var t = Mlops.Data.Tabular.CsvTableReader.Parse("x,y\n1,a\n2,b\n3,a\n");
        Assert.Equal(
            "bad_target",
            Assert.Throws<MlException>(() => ModelTrainer.Train(t, new TrainingSpec("y", MlTask.Regression))).Code
        );
    }

    [Fact]
    public void BinMapper_ManyDistinctValues_AtMostMaxBinsAndMonotone()
    {
        var values = Enumerable.Range(0, 10_000).Select(i => (float)Math.Sqrt(i)).ToArray();
        var m = BinMapper.FromSortedSample(values, 255);
        Assert.True(m.BinCount <= 256);
        Assert.Equal(0, m.ValueToBin(float.NaN));
        byte prev = 1;
        foreach (var v in values)
        {
            var b = m.ValueToBin(v);
            Assert.True(b >= prev);
            prev = b;
        }
        Assert.Equal(m.BinCount - 1, m.ValueToBin(float.MaxValue));
    }

    [Fact]
    public void BinMapper_FewDistinctValues_OneBinEach()
    {
        var m = BinMapper.FromSortedSample([0f, 0f, 1f, 1f, 2f], 255);
        Assert.Equal(4, m.BinCount);
        Assert.Equal(1, m.ValueToBin(0f));
        Assert.Equal(2, m.ValueToBin(1f));
        Assert.Equal(3, m.ValueToBin(2f));
    }

    [Fact]
    public void Train_ObjectivesL1AndHuber_ProduceReasonableModels()
    {
        var (train, test) = TestData.Split(TestData.Load("sk_diabetes"));
        foreach (var objective in new[] { "l1", "huber" })
        {
            var m = ModelTrainer
                .Train(
                    train,
                    new TrainingSpec("target", MlTask.Regression)
                    {
                        Options = new Dictionary<string, object>
                        {
                            ["objective"] = objective,
                            ["huber_delta"] = 30.0,
                            ["learning_rate"] = 0.05,
                        },
                    }
                )
                .Model;
            Assert.True(Mlops.ML.Metrics.Evaluator.Evaluate(m, test).Metrics["rmse"] < 75, objective);
        }
    }

    [Theory]
    [InlineData(1_000, null, "mlops", 0.1)]
    [InlineData(50_000, null, "lightgbm", 0.3)]
    [InlineData(50_000, 0.3, "lightgbm", 0.3)]
    public void GbdtOptions_ForTraining_SizeAwareEngineAndLearningRate(
        int rows,
        double? userRate,
        string engine,
        double rate
    )
    {
        var values = userRate is null
            ? new Dictionary<string, object>()
            : new Dictionary<string, object> { ["learning_rate"] = userRate };
        var o = GbdtOptions.ForTraining(values, MlTask.Binary, rows);
        Assert.Equal(engine, o.ResolvedEngine(MlTask.Binary, rows));
        Assert.Equal(rate, o.LearningRate);
        Assert.Equal(engine == "lightgbm" && userRate is null ? 6 : -1, o.MaxDepth);
    }

    [Fact]
    public void GbdtOptions_LightGbmWithL1Objective_ThrowsNamingEngine()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            GbdtOptions.FromDictionary(new Dictionary<string, object> { ["engine"] = "lightgbm", ["objective"] = "l1" })
        );
        Assert.Equal("engine", ex.ParamName);
        Assert.Equal(
            "mlops",
            GbdtOptions
                .ForTraining(new Dictionary<string, object> { ["objective"] = "huber" }, MlTask.Regression, 100_000)
                .ResolvedEngine(MlTask.Regression, 100_000)
        );
    }
}
