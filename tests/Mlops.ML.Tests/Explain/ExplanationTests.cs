using System.Globalization;
using System.Text;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML.Explain;
using Mlops.ML.Gbdt;
using Mlops.ML.Linear;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests.Explain;

/// <summary>
/// Explanations are exact: base + Σ contributions is the raw score for every trainer and task, and the contributions
/// are the Shapley values of the path-dependent (trees) or reference (linear) value function, checked by enumerating
/// every feature subset.
/// </summary>
public class ExplanationTests
{
    /// <summary>Numbers, a category (with blanks), a boolean and a date (several features summed back to one
    /// column).</summary>
    internal static DataTable Mixed(MlTask task, int rows = 600, int seed = 5)
    {
        var sb = new StringBuilder("size,color,flag,when,weight,y\n");
        var rng = new Random(seed);
        string[] colors = ["red", "green", "blue", "teal", "plum"];
        for (int i = 0; i < rows; i++)
        {
            double size = Math.Round(rng.NextDouble() * 10, 3),
                weight = Math.Round(rng.NextDouble() * 3, 3);
            int c = rng.Next(colors.Length);
            bool flag = rng.Next(2) == 0;
            var when = new DateTime(2024, 1, 1).AddDays(rng.Next(365)).AddHours(rng.Next(24));
            double score =
                size
                + (
                    c == 0 ? 3
                    : c == 3 ? -2
                    : 0
                )
                + (flag ? 1 : 0)
                + (when.Month > 6 ? 1.5 : 0)
                + weight * weight
                + rng.NextDouble() * 2;
            string y = task switch
            {
                MlTask.Binary => score > 8 ? "yes" : "no",
                MlTask.Multiclass => score < 6 ? "low"
                : score < 10 ? "mid"
                : "high",
                _ => score.ToString("R", CultureInfo.InvariantCulture),
            };
            string sizeText = i % 13 == 0 ? "" : size.ToString("R", CultureInfo.InvariantCulture);
            string colorText = i % 29 == 0 ? "" : colors[c];
            sb.Append(
                CultureInfo.InvariantCulture,
                $"{sizeText},{colorText},{(flag ? "true" : "false")},{when:yyyy-MM-ddTHH:mm:ss},{weight.ToString("R", CultureInfo.InvariantCulture)},{y}\n"
            );
        }
        return CsvTableReader.Parse(sb.ToString());
    }

    internal static Model Train(DataTable data, MlTask task, string trainer, Dictionary<string, object>? extra = null)
    {
        var options = new Dictionary<string, object>(extra ?? []);
        var kind = trainer switch
        {
            "linear" => TrainerKind.Linear,
            "forest" => TrainerKind.Forest,
            _ => TrainerKind.Gbdt,
        };
        if (kind == TrainerKind.Gbdt)
        {
            options["engine"] = trainer;
            options.TryAdd("min_data_in_leaf", 5);
            options.TryAdd("num_rounds", 40);
        }
        if (kind == TrainerKind.Forest)
            options.TryAdd("num_trees", 30);
        return ModelTrainer.Train(data, new TrainingSpec("y", task) { Trainer = kind, Options = options }).Model;
    }

    private static double[] RawScores(Model model, DataTable data)
    {
        var bound = model.Featurizer.Bind(data);
        int n = data.RowCount,
            f = model.Featurizer.FeatureCount;
        var feats = new float[n * f];
        model.Featurizer.FillRows(bound, 0, n, feats);
        var raw = new double[n * model.Predictor.OutputCount];
        model.Predictor.Predict(feats, n, raw);
        return raw;
    }

    [Theory]
    [InlineData("mlops", MlTask.Binary)]
    [InlineData("mlops", MlTask.Multiclass)]
    [InlineData("mlops", MlTask.Regression)]
    [InlineData("lightgbm", MlTask.Binary)]
    [InlineData("lightgbm", MlTask.Multiclass)]
    [InlineData("lightgbm", MlTask.Regression)]
    [InlineData("forest", MlTask.Binary)]
    [InlineData("forest", MlTask.Regression)]
    [InlineData("linear", MlTask.Binary)]
    [InlineData("linear", MlTask.Multiclass)]
    [InlineData("linear", MlTask.Regression)]
    public void ExplainBatch_EveryTrainerAndTask_BasePlusContributionsIsRawScore(string trainer, MlTask task)
    {
        var data = Mixed(task);
        var model = Train(data, task, trainer);
        var explainer = ModelExplainer.For(model);
        var explanations = explainer.ExplainBatch(data);
        var raw = RawScores(model, data);
        int k = model.Predictor.OutputCount;
        Assert.Equal(["size", "color", "flag", "when", "weight"], explainer.Columns);
        Assert.Equal(k, explainer.Outputs.Count);
        double largest = 0;
        for (int r = 0; r < data.RowCount; r++)
        {
            for (int o = 0; o < k; o++)
            {
                double expected = raw[r * k + o];
                Assert.True(
                    Math.Abs(explanations[r].Raw(o) - expected) <= 1e-6,
                    $"row {r} output {o}: base+Σ {explanations[r].Raw(o)}, raw {expected}"
                );
                foreach (var v in explanations[r].For(o))
                    largest = Math.Max(largest, Math.Abs(v));
            }
        }
        // Not vacuous: the model uses its inputs, so some contributions are far from zero.
        Assert.True(largest > 0.05, $"largest contribution {largest}");
    }

    [Theory]
    [InlineData("mlops", MlTask.Binary)]
    [InlineData("linear", MlTask.Multiclass)]
    public void TryExplain_JsonRow_SameAsBatchAndAsPrediction(string trainer, MlTask task)
    {
        var data = Mixed(task, rows: 300);
        var model = Train(data, task, trainer);
        var explainer = ModelExplainer.For(model);
        var batch = explainer.ExplainBatch(data);
        for (int r = 0; r < 40; r++)
        {
            using var doc = JsonDocument.Parse(RowJson(data, r));
            Assert.True(explainer.TryExplain(doc.RootElement, out var e, out _));
            Assert.True(model.TryPredict(doc.RootElement, out var p, out _));
            Assert.Equal(batch[r].Contributions, e!.Contributions);
            if (task == MlTask.Multiclass)
            {
                // Softmax of the explained raw scores is the served probability.
                var raws = Enumerable.Range(0, e.Outputs.Count).Select(e.Raw).ToArray();
                double max = raws.Max(),
                    sum = raws.Sum(v => Math.Exp(v - max));
                for (int c = 0; c < raws.Length; c++)
                    Assert.Equal(p!.Probabilities![c], Math.Exp(raws[c] - max) / sum, 1e-9);
            }
            else
                Assert.Equal(p!.Value, 1 / (1 + Math.Exp(-e.Raw(0))), 1e-9);
        }
    }

    [Fact]
    public void TryExplain_WrongType_FalseWithErrorIssue()
    {
        var data = Mixed(MlTask.Binary, rows: 200);
        var explainer = ModelExplainer.For(Train(data, MlTask.Binary, "mlops"));
        using var doc = JsonDocument.Parse("""{"size": "big", "color": "red"}""");
        Assert.False(explainer.TryExplain(doc.RootElement, out var e, out var issues));
        Assert.Null(e);
        Assert.Contains(issues, i => i.IsError && i.Column == "size");
    }

    internal static string RowJson(DataTable t, int r)
    {
        var parts = new List<string>();
        foreach (var c in t.Columns)
        {
            if (c.Name == "y")
                continue;
            string v = c.Kind switch
            {
                ColumnKind.Numeric => double.IsNaN(c.Numbers![r])
                    ? "null"
                    : c.Numbers[r].ToString("R", CultureInfo.InvariantCulture),
                ColumnKind.Boolean => c.Numbers![r] != 0 ? "true" : "false",
                _ => c.IsMissing(r) ? "null" : JsonSerializer.Serialize(c.Strings?[r] ?? RawText(c, r)),
            };
            parts.Add($"{JsonSerializer.Serialize(c.Name)}:{v}");
        }
        return "{" + string.Join(",", parts) + "}";
    }

    private static string RawText(Column c, int r) =>
        DateTime
            .UnixEpoch.AddTicks((long)Math.Round(c.Numbers![r] * TimeSpan.TicksPerSecond))
            .ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------ exactness against subset enumeration

    /// <summary>
    /// Small tree models (≤ 8 columns, shallow trees) from every tree engine — LightGBM's native category splits become
    /// chains that test one feature several times on a path, the case TreeSHAP's unwinding exists for.
    /// </summary>
    [Theory]
    [InlineData("mlops", MlTask.Binary)]
    [InlineData("mlops", MlTask.Multiclass)]
    [InlineData("lightgbm", MlTask.Regression)]
    [InlineData("lightgbm", MlTask.Binary)]
    [InlineData("forest", MlTask.Binary)]
    public void TreeShap_SmallModels_EqualBruteForceShapleyValues(string trainer, MlTask task)
    {
        var data = Mixed(task, rows: 400, seed: 9).Without("when");
        var extra = new Dictionary<string, object>
        {
            ["num_leaves"] = 6,
            ["max_depth"] = 4,
            ["num_rounds"] = 12,
        };
        if (trainer == "lightgbm")
            extra["categorical_split"] = "native";
        if (trainer == "forest")
            extra = new Dictionary<string, object> { ["num_leaves"] = 6, ["num_trees"] = 8 };
        var model = Train(data, task, trainer, extra);
        var ensemble = Assert.IsType<GbdtEnsemble>(model.Predictor);
        if (trainer == "lightgbm")
            Assert.Contains(ensemble.Trees, t => t.Feature.GroupBy(x => x).Any(g => g.Count() > 1)); // a feature repeats within a tree
        var explainer = ModelExplainer.For(model);
        int f = model.Featurizer.FeatureCount,
            k = ensemble.OutputCount;
        Assert.True(f <= 8);
        var bound = model.Featurizer.Bind(data);
        var x = new float[f];
        for (int r = 0; r < 60; r++)
        {
            model.Featurizer.FillRows(bound, r, 1, x);
            var e = explainer.Explain(x);
            var brute = BruteForce.TreeShapley(ensemble, x);
            for (int o = 0; o < k; o++)
            {
                for (int j = 0; j < f; j++)
                {
                    // Columns map one-to-one to features here (no dates), so column j is feature j.
                    Assert.True(
                        Math.Abs(brute.Phi[o * f + j] - e.Contribution(o, j)) <= 1e-9,
                        $"row {r} output {o} feature {j}: treeshap {e.Contribution(o, j)}, enumeration {brute.Phi[o * f + j]}"
                    );
                }
                Assert.True(Math.Abs(brute.Base[o] - e.Base[o]) <= 1e-9, $"base {e.Base[o]} vs {brute.Base[o]}");
            }
        }
    }

    [Theory]
    [InlineData(MlTask.Binary)]
    [InlineData(MlTask.Multiclass)]
    [InlineData(MlTask.Regression)]
    public void LinearAttribution_SmallModels_EqualBruteForceShapleyValues(MlTask task)
    {
        var data = Mixed(task, rows: 300, seed: 4).Without("when");
        var model = Train(data, task, "linear");
        var linear = Assert.IsType<LinearModel>(model.Predictor);
        Assert.NotNull(linear.SlotMeans);
        var explainer = ModelExplainer.For(model);
        int f = model.Featurizer.FeatureCount;
        var bound = model.Featurizer.Bind(data);
        var x = new float[f];
        for (int r = 0; r < 40; r++)
        {
            model.Featurizer.FillRows(bound, r, 1, x);
            var e = explainer.Explain(x);
            var brute = BruteForce.LinearShapley(linear, x);
            for (int o = 0; o < linear.OutputCount; o++)
            {
                for (int j = 0; j < f; j++)
                    Assert.True(
                        Math.Abs(brute.Phi[o * f + j] - e.Contribution(o, j)) <= 1e-9,
                        $"row {r} output {o} feature {j}"
                    );
                Assert.True(Math.Abs(brute.Base[o] - e.Base[o]) <= 1e-9);
            }
        }
    }

    // ------------------------------------------------------------------ storage and edge cases

    [Fact]
    public void SaveLoad_TreeModel_CoversKeptAndExplanationsIdentical()
    {
        var data = Mixed(MlTask.Binary, rows: 300);
        var model = Train(data, MlTask.Binary, "mlops");
        var loaded = Model.FromJson(model.ToJson());
        var a = ModelExplainer.For(model).ExplainBatch(data);
        var b = ModelExplainer.For(loaded).ExplainBatch(data);
        for (int r = 0; r < data.RowCount; r++)
            Assert.Equal(a[r].Contributions, b[r].Contributions);
        var tree = ((GbdtEnsemble)loaded.Predictor).Trees[0];
        // Root cover is every training row (early stopping's holdout aside): counts, not weights.
        Assert.Equal(tree.LeafCover!.Sum(), tree.Cover![0]);
    }

    [Fact]
    public void For_TreeModelSavedWithoutCovers_ThrowsExplainUnavailable()
    {
        var data = Mixed(MlTask.Regression, rows: 200);
        var json = Train(data, MlTask.Regression, "mlops").ToJson();
        // What a model file written before explanations looks like: trees without cover arrays.
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        foreach (var t in node["gbdt"]!["trees"]!.AsArray())
        {
            t!.AsObject().Remove("cover");
            t.AsObject().Remove("leafCover");
        }
        var old = Model.FromJson(node.ToJsonString());
        Assert.Equal(Train(data, MlTask.Regression, "mlops").PredictBatch(data).Values, old.PredictBatch(data).Values);
        Assert.False(ModelExplainer.CanExplain(old));
        var ex = Assert.Throws<MlException>(() => ModelExplainer.For(old));
        Assert.Equal("explain_unavailable", ex.Code);
        Assert.Contains("retrain", ex.Message);
    }

    [Fact]
    public void Explain_DateColumn_FeaturesSummedBackToTheColumn()
    {
        var data = Mixed(MlTask.Regression);
        var model = Train(data, MlTask.Regression, "mlops");
        var dateFeatures = model.Featurizer.Features.Where(d => model.InputSchema[d.Column].Name == "when").ToList();
        Assert.True(dateFeatures.Count > 1, "a date becomes several features");
        var e = ModelExplainer.For(model).ExplainBatch(data);
        int when = ModelExplainer.For(model).Columns.ToList().IndexOf("when");
        // The month carries signal (y jumps after June): the date column gets a real share.
        Assert.True(e.Average(x => Math.Abs(x.Contribution(0, when))) > 0.1);
    }
}
