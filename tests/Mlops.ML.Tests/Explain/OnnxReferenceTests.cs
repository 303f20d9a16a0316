using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Mlops.Data.Tabular;
using Mlops.ML.Explain;
using Mlops.ML.Models;
using Mlops.ML.Onnx;
using Xunit;

namespace Mlops.ML.Tests.Explain;

/// <summary>
/// An independent recomputation of what explanations add up to: the model exported to ONNX and scored by ONNX Runtime
/// (another engine walking the same trees) must give, through the link function, base + Σ contributions for every row.
/// </summary>
public class OnnxReferenceTests
{
    [Theory]
    [InlineData("sk_breast_cancer", MlTask.Binary, "mlops")]
    [InlineData("sk_breast_cancer", MlTask.Binary, "lightgbm")]
    [InlineData("sk_wine", MlTask.Multiclass, "mlops")]
    [InlineData("sk_iris", MlTask.Multiclass, "lightgbm")]
    [InlineData("sk_diabetes", MlTask.Regression, "mlops")]
    [InlineData("sk_diabetes", MlTask.Regression, "forest")]
    public void Explanations_TreeEnsembles_AddUpToOnnxRuntimeScores(string dataset, MlTask task, string trainer)
    {
        var (train, test) = TestData.Split(TestData.Load(dataset));
        var kind = trainer == "forest" ? TrainerKind.Forest : TrainerKind.Gbdt;
        var options =
            kind == TrainerKind.Forest
                ? null
                : new Dictionary<string, object> { ["engine"] = trainer, ["min_data_in_leaf"] = 5 };
        var model = Training
            .ModelTrainer.Train(train, new Training.TrainingSpec("target", task) { Trainer = kind, Options = options })
            .Model;
        var explanations = ModelExplainer.For(model).ExplainBatch(test);
        var (values, probabilities) = OnnxScores(model, test);
        for (int r = 0; r < test.RowCount; r++)
        {
            var e = explanations[r];
            if (task == MlTask.Regression)
            {
                Assert.True(
                    Math.Abs(values![r] - e.Raw(0)) <= 1e-5 * Math.Max(1, Math.Abs(e.Raw(0))),
                    $"row {r}: onnx {values[r]}, base+Σ {e.Raw(0)}"
                );
                continue;
            }
            var raws = Enumerable.Range(0, e.Outputs.Count).Select(e.Raw).ToArray();
            double[] p = task == MlTask.Binary ? [1 - Sigmoid(raws[0]), Sigmoid(raws[0])] : Softmax(raws);
            for (int c = 0; c < p.Length; c++)
                Assert.True(
                    Math.Abs(probabilities![r * p.Length + c] - p[c]) <= 1e-5,
                    $"row {r} class {c}: onnx {probabilities[r * p.Length + c]}, explained {p[c]}"
                );
        }
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    private static (float[]? Values, float[]? Probabilities) OnnxScores(Model model, DataTable test)
    {
        using var session = new InferenceSession(OnnxExporter.Export(model));
        var inputs = new List<NamedOnnxValue>();
        foreach (var input in model.InputSchema.Where(c => c.Used))
        {
            var col = test[input.Name];
            var values = col.Numbers!.Select(v => (float)v).ToArray();
            inputs.Add(NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(values, [test.RowCount, 1])));
        }
        using var results = session.Run(inputs);
        if (model.Task == MlTask.Regression)
            return (results.First(r => r.Name == "label").AsEnumerable<float>().ToArray(), null);
        return (null, results.First(r => r.Name == "probabilities").AsEnumerable<float>().ToArray());
    }
}
