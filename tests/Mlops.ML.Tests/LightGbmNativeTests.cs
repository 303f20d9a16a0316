using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.LightGbm;
using Mlops.ML.MlNet;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

/// <summary>
/// LightGBM trained through its C API and read back from its model text into our <see cref="GbdtEnsemble"/> must give
/// LightGBM's own raw scores (<c>LGBM_BoosterPredictForMat</c>) on held-out rows, rows with missing values included.
/// </summary>
public class LightGbmNativeTests
{
    private const double Tolerance = 1e-9;

    [Theory]
    [InlineData("sk_breast_cancer", MlTask.Binary)]
    [InlineData("sk_wine", MlTask.Multiclass)]
    [InlineData("sk_iris", MlTask.Multiclass)]
    [InlineData("sk_diabetes", MlTask.Regression)]
    public void Train_ParsedEnsemble_EqualsLightGbmRawScores(string dataset, MlTask task)
    {
        var (train, test, classCount) = Matrices(dataset, task);
        var options = new GbdtOptions
        {
            NumRounds = 40,
            MinDataInLeaf = 5,
            Threads = 1,
        };
        var output = LightGbmTrainer.Train(train, null, task, classCount, options, seed: 7);

        Assert.Equal(task == MlTask.Multiclass ? classCount : 1, output.Ensemble.OutputCount);
        Assert.Equal(40 * output.Ensemble.OutputCount, output.Ensemble.Trees.Count);
        Assert.Contains(output.Ensemble.Trees, t => t.NodeCount > 3);
        AssertSameRawScores(output, test);
        // The held-out rows include missing values in the split features, so both NaN directions are exercised.
        Assert.Contains(test.Features, float.IsNaN);
    }

    [Theory]
    [InlineData(MlTask.Binary)]
    [InlineData(MlTask.Regression)]
    public void Train_NativeCategorySplits_ChainsEqualLightGbmRawScores(MlTask task)
    {
        var table = MlNetConversionTests.CategoricalTable(seed: 11);
        var (trainTable, testTable) = TestData.Split(table);
        var fz = Featurizer.Fit(trainTable, "y");
        double[] Encode(DataTable t) =>
            task == MlTask.Binary
                ? Labels.AsNumbers(t["y"]).Select(v => v > 5 ? 1.0 : 0.0).ToArray()
                : Labels.AsNumbers(t["y"]);
        var train = TreeModelTraining.Matrix(fz, trainTable, Encode(trainTable));
        var test = TreeModelTraining.Matrix(fz, testTable, Encode(testTable));
        var options = new GbdtOptions
        {
            NumRounds = 30,
            MinDataInLeaf = 5,
            Threads = 1,
            CategoricalSplit = "native",
        };
        var output = LightGbmTrainer.Train(train, null, task, 2, options, seed: 7);

        Assert.Contains("num_cat=", output.ModelText);
        Assert.DoesNotContain("num_cat=0\n", output.ModelText.Replace("\r", "").Split("Tree=")[1]);
        Assert.Contains(output.Ensemble.Trees, t => t.Feature.Any(f => fz.Features[f].IsCategorical));
        AssertSameRawScores(output, test);
    }

    [Fact]
    public void Train_WithEarlyStopping_KeepsBestRoundAndStillMatches()
    {
        var (train, test, classCount) = Matrices("sk_breast_cancer", MlTask.Binary);
        var options = new GbdtOptions
        {
            NumRounds = 500,
            LearningRate = 0.3,
            MinDataInLeaf = 5,
            EarlyStoppingRounds = 5,
            Threads = 1,
        };
        var output = LightGbmTrainer.Train(train, test, MlTask.Binary, classCount, options, seed: 7);

        Assert.InRange(output.BestRound, 1, 499);
        Assert.Equal(output.BestRound, output.Ensemble.Trees.Count);
        AssertSameRawScores(output, test);
    }

    [Fact]
    public void Train_SameSeed_SameModelText()
    {
        var (train, _, classCount) = Matrices("sk_breast_cancer", MlTask.Binary);
        var options = new GbdtOptions
        {
            NumRounds = 10,
            MinDataInLeaf = 5,
            FeatureFraction = 0.7,
            BaggingFraction = 0.8,
        };
        string first = LightGbmTrainer.Train(train, null, MlTask.Binary, classCount, options, seed: 3).ModelText;
        string second = LightGbmTrainer.Train(train, null, MlTask.Binary, classCount, options, seed: 3).ModelText;
        string other = LightGbmTrainer.Train(train, null, MlTask.Binary, classCount, options, seed: 4).ModelText;
        Assert.Equal(Trees(first), Trees(second));
        Assert.NotEqual(Trees(first), Trees(other));
        static string Trees(string text) => text[..text.IndexOf("end of trees", StringComparison.Ordinal)];
    }

    [Fact]
    public void Train_BadParameter_ThrowsLightGbmMessage()
    {
        var (train, _, classCount) = Matrices("sk_breast_cancer", MlTask.Binary);
        var options = new GbdtOptions { NumRounds = 5, NumLeaves = 1 };
        var error = Assert.Throws<MlException>(() =>
            LightGbmTrainer.Train(train, null, MlTask.Binary, classCount, options, seed: 1)
        );
        Assert.Contains("LightGBM failed", error.Message);
        Assert.Contains("num_leaves", error.Message);
    }

    [Fact]
    public void Parse_TruncatedTree_ThrowsClearError()
    {
        var (train, _, classCount) = Matrices("sk_breast_cancer", MlTask.Binary);
        string text = LightGbmTrainer
            .Train(train, null, MlTask.Binary, classCount, new GbdtOptions { NumRounds = 2 }, seed: 1)
            .ModelText;
        string broken = string.Join(
            '\n',
            text.Split('\n').Where(l => !l.StartsWith("threshold=", StringComparison.Ordinal))
        );
        var error = Assert.Throws<MlException>(() => LightGbmModelText.Parse(broken, train.Width));
        Assert.Contains("threshold", error.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0000000001)]
    [InlineData(-3.1415926535897931)]
    [InlineData(1e300)]
    [InlineData(-1e-40)]
    public void FloatAtOrBelow_EveryNearbyFloat_ComparesLikeTheDouble(double threshold)
    {
        float t = LightGbmModelText.FloatAtOrBelow(threshold);
        float start = (float)threshold;
        for (int step = -3; step <= 3; step++)
        {
            float x = start;
            for (int i = 0; i < Math.Abs(step); i++)
                x = step < 0 ? MathF.BitDecrement(x) : MathF.BitIncrement(x);
            Assert.Equal((double)x <= threshold, x <= t);
        }
    }

    [Theory]
    [InlineData("sk_breast_cancer", MlTask.Binary)]
    [InlineData("sk_wine", MlTask.Multiclass)]
    [InlineData("sk_diabetes", MlTask.Regression)]
    public void Train_LightGbmNodeCounts_AreTheTrainingRowsCountedThroughOurTrees(string dataset, MlTask task)
    {
        var (output, train, _) = TrainThirtyRounds(dataset, task);
        Assert.All(output.Ensemble.Trees, t => Assert.NotNull(t.Cover));
        // Training rows include missing values in the split features: the NaN direction is part of the count.
        var counted = Mlops.ML.Explain.TreeCover.FromRows(output.Ensemble, train.Features, train.Rows);
        for (int t = 0; t < counted.Trees.Count; t++)
        {
            Assert.Equal(counted.Trees[t].Cover, output.Ensemble.Trees[t].Cover);
            Assert.Equal(counted.Trees[t].LeafCover, output.Ensemble.Trees[t].LeafCover);
        }
    }

    [Theory]
    [InlineData("sk_breast_cancer", MlTask.Binary)]
    [InlineData("sk_wine", MlTask.Multiclass)]
    [InlineData("sk_diabetes", MlTask.Regression)]
    public void TreeShap_OnTheConvertedTrees_EqualsLightGbmsOwnContributions(string dataset, MlTask task)
    {
        var (output, _, test) = TrainThirtyRounds(dataset, task);
        int k = output.Ensemble.OutputCount,
            f = test.Width;
        using var booster = LightGbmBooster.FromModelText(output.ModelText);
        // An independent implementation (LightGBM's C++ TreeSHAP on its own trees) against ours on the converted trees.
        var theirs = booster.PredictContributions(test.Features, test.Rows, f, k);
        var shap = Mlops.ML.Explain.TreeShap.For(output.Ensemble);
        var phi = new double[k * f];
        for (int r = 0; r < test.Rows; r++)
        {
            Array.Clear(phi);
            shap.Explain(test.Features.AsSpan(r * f, f), phi);
            for (int o = 0; o < k; o++)
            {
                int at = (r * k + o) * (f + 1);
                Assert.Equal(theirs[at + f], shap.Expected[o], 1e-9);
                for (int j = 0; j < f; j++)
                    Assert.True(
                        Math.Abs(theirs[at + j] - phi[o * f + j]) <= 1e-9,
                        $"row {r} output {o} feature {j}: LightGBM {theirs[at + j]:R}, ours {phi[o * f + j]:R}"
                    );
            }
        }
    }

    private static (LightGbmOutput Output, FeatureMatrix Train, FeatureMatrix Test) TrainThirtyRounds(
        string dataset,
        MlTask task
    )
    {
        var (train, test, classCount) = Matrices(dataset, task);
        var options = new GbdtOptions
        {
            NumRounds = 30,
            MinDataInLeaf = 5,
            Threads = 1,
        };
        return (LightGbmTrainer.Train(train, null, task, classCount, options, seed: 7), train, test);
    }

    private static void AssertSameRawScores(LightGbmOutput output, FeatureMatrix test)
    {
        int k = output.Ensemble.OutputCount;
        using var booster = LightGbmBooster.FromModelText(output.ModelText);
        var theirs = booster.PredictRaw(test.Features, test.Rows, test.Width, k);
        var ours = new double[test.Rows * k];
        output.Ensemble.Predict(test.Features, test.Rows, ours);
        for (int i = 0; i < ours.Length; i++)
            Assert.True(
                Math.Abs(theirs[i] - ours[i]) <= Tolerance * Math.Max(1, Math.Abs(theirs[i])),
                $"row {i / k} output {i % k}: LightGBM {theirs[i]:R}, ours {ours[i]:R}"
            );
    }

    /// <summary>Featurized 80/20 matrices of a bundled dataset, with every 7th value of the first features set
    /// missing.</summary>
    private static (FeatureMatrix Train, FeatureMatrix Test, int ClassCount) Matrices(string dataset, MlTask task)
    {
        var (trainTable, testTable) = TestData.Split(TestData.Load(dataset));
        var fz = Featurizer.Fit(trainTable, "target");
        var classes =
            task == MlTask.Regression ? [] : Labels.SortClasses(Labels.AsStrings(trainTable["target"]).Select(s => s!));
        double[] Encode(DataTable t) =>
            task == MlTask.Regression
                ? Labels.AsNumbers(t["target"])
                : Labels.AsStrings(t["target"]).Select(s => (double)Array.IndexOf(classes, s)).ToArray();
        FeatureMatrix Build(DataTable t)
        {
            var m = TreeModelTraining.Matrix(fz, t, Encode(t));
            for (int i = 0; i < m.Features.Length; i += 7)
                if (i % m.Width < 3)
                    m.Features[i] = float.NaN;
            return m;
        }
        return (Build(trainTable), Build(testTable), Math.Max(1, classes.Length));
    }
}
