using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Mlops.Data.Tabular;
using Mlops.ML.Models;
using Mlops.ML.Onnx;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

/// <summary>Exported ONNX graphs, run by ONNX Runtime, must score test rows as our predictor does (to 1e-5).</summary>
public class OnnxExportTests
{
    [Theory]
    [InlineData("sk_breast_cancer", MlTask.Binary, "mlops")]
    [InlineData("sk_breast_cancer", MlTask.Binary, "lightgbm")]
    [InlineData("sk_iris", MlTask.Multiclass, "mlops")]
    [InlineData("sk_wine", MlTask.Multiclass, "lightgbm")]
    [InlineData("sk_diabetes", MlTask.Regression, "mlops")]
    public void Export_BundledSets_OnnxRuntimeMatchesOurPredictor(string dataset, MlTask task, string engine)
    {
        var (train, test) = TestData.Split(TestData.Load(dataset));
        var spec = new TrainingSpec("target", task)
        {
            Options = new Dictionary<string, object> { ["engine"] = engine, ["min_data_in_leaf"] = 5 },
        };
        var model = ModelTrainer.Train(train, spec).Model;
        AssertOnnxMatches(model, test);
    }

    [Fact]
    public void Export_CategoricalsMissingValuesAndTunedThreshold_TreesAndLinearMatch()
    {
        var rng = new Random(3);
        var sb = new System.Text.StringBuilder("color,size,weight,y\n");
        string[] colors = ["red", "green", "blue", "teal"];
        for (int i = 0; i < 800; i++)
        {
            string color = colors[rng.Next(colors.Length)];
            double size = rng.NextDouble() * 10,
                weight = rng.NextDouble();
            bool y = (color == "red" || color == "teal") ^ (size > 6) ^ (rng.NextDouble() < 0.1);
            string sizeText =
                rng.NextDouble() < 0.1 ? "" : size.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            string colorText =
                rng.NextDouble() < 0.05 ? ""
                : i % 97 == 0 ? "violet"
                : color;
            sb.Append(System.FormattableString.Invariant($"{colorText},{sizeText},{weight},{(y ? "yes" : "no")}\n"));
        }
        var (train, test) = TestData.Split(CsvTableReader.Parse(sb.ToString()));
        foreach (
            var (trainer, engine) in new[]
            {
                (TrainerKind.Gbdt, "mlops"),
                (TrainerKind.Gbdt, "lightgbm"),
                (TrainerKind.Linear, ""),
            }
        )
        {
            var options =
                engine.Length == 0
                    ? null
                    : new Dictionary<string, object> { ["engine"] = engine, ["categorical_split"] = "native" };
            var spec = new TrainingSpec("y", MlTask.Binary)
            {
                Trainer = trainer,
                Options = options,
                Threshold = ThresholdRule.Maximizing("accuracy"),
            };
            var model = ModelTrainer.Train(train, spec).Model;
            Assert.NotEqual(0.5, model.Threshold);
            AssertOnnxMatches(model, test);
        }
    }

    [Theory]
    [InlineData("sk_breast_cancer", MlTask.Binary)]
    [InlineData("sk_wine", MlTask.Multiclass)]
    [InlineData("sk_diabetes", MlTask.Regression)]
    public void Export_LinearModels_OnnxRuntimeMatchesOurPredictor(string dataset, MlTask task)
    {
        var (train, test) = TestData.Split(TestData.Load(dataset));
        var model = ModelTrainer.Train(train, new TrainingSpec("target", task) { Trainer = TrainerKind.Linear }).Model;
        AssertOnnxMatches(model, test);
    }

    internal static void AssertOnnxMatches(Model model, DataTable test)
    {
        var expected = model.PredictBatch(test);
        using var session = new InferenceSession(OnnxExporter.Export(model));
        var inputs = new List<NamedOnnxValue>();
        foreach (var input in model.InputSchema.Where(c => c.Used))
        {
            var col = test[input.Name];
            if (input.Kind == ColumnKind.Categorical)
            {
                var strings = Labels.AsStrings(col).Select(s => s ?? "").ToArray();
                inputs.Add(
                    NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<string>(strings, [test.RowCount, 1]))
                );
            }
            else
            {
                var values = col.Numbers!.Select(v => (float)v).ToArray();
                inputs.Add(
                    NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(values, [test.RowCount, 1]))
                );
            }
        }
        using var results = session.Run(inputs);
        if (model.Task == MlTask.Regression)
        {
            var label = results.First(r => r.Name == "label").AsEnumerable<float>().ToArray();
            for (int i = 0; i < test.RowCount; i++)
                Assert.True(
                    Math.Abs(label[i] - expected.Values[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected.Values[i])),
                    $"row {i}: ours {expected.Values[i]}, onnx {label[i]}"
                );
            return;
        }
        var probabilities = results.First(r => r.Name == "probabilities").AsEnumerable<float>().ToArray();
        var labels = results.First(r => r.Name == "label").AsEnumerable<string>().ToArray();
        Assert.Equal(expected.Probabilities!.Length, probabilities.Length);
        for (int i = 0; i < probabilities.Length; i++)
            Assert.True(
                Math.Abs(probabilities[i] - expected.Probabilities[i]) <= 1e-5,
                $"probability {i}: ours {expected.Probabilities[i]}, onnx {probabilities[i]}"
            );
        Assert.Equal(expected.Labels!, labels);
    }
}
