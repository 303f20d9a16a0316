using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.Models;
using static Mlops.ML.Onnx.OnnxGraph;

namespace Mlops.ML.Onnx;

/// <summary>
/// Exports a model as an ONNX-ML graph any ONNX runtime can serve. Inputs: one per used raw column, named as the column,
/// shape [N, 1] — float for numeric and boolean columns (NaN = missing), string for categorical ones (unseen → "other",
/// empty string → missing). Outputs: <c>label</c> ([N, 1]: the class as a string, or the regression value) and, for
/// classifiers, <c>probabilities</c> ([N, classes], no ZipMap). The featurizer is <c>LabelEncoder</c> + <c>Concat</c>;
/// the trees are one <c>TreeEnsembleRegressor</c> producing raw scores, followed by <c>Sigmoid</c> or <c>Softmax</c>, the
/// decision threshold, and a <c>LabelEncoder</c> from class index to class label.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ONNX bytes of <paramref name="model"/>.</summary>
    /// <exception cref="MlException"><c>unsupported_model</c> for models the exporter cannot express yet (linear models, datetime inputs).</exception>
    public static byte[] Export(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Predictor is not GbdtEnsemble ensemble)
            throw new MlException("unsupported_model", $"ONNX export supports tree models (gbdt, forest); this model's trainer is {model.Trainer.ToName()}.");
        var g = new OnnxGraph();
        var features = Featurize(g, model.Featurizer);
        string raw = Trees(g, ensemble, features);
        if (model.Task == MlTask.Regression)
        {
            g.Node("Identity", [raw], "label");
            g.Output("label", FloatType, 1);
            return g.Serialize("mlops_regression");
        }
        string probabilities, classIndex;
        if (model.Task == MlTask.Binary)
        {
            string positive = g.Node("Sigmoid", [raw]);
            string negative = g.Node("Sub", [g.Constant("one", 1f), positive]);
            probabilities = g.Node("Concat", [negative, positive], "probabilities", "", new IntAttr("axis", 1));
            string isPositive = g.Node("GreaterOrEqual", [positive, g.Constant("threshold", (float)model.Threshold)]);
            classIndex = g.Node("Cast", [isPositive], null, "", new IntAttr("to", Int64Type));
        }
        else
        {
            probabilities = g.Node("Softmax", [raw], "probabilities", "", new IntAttr("axis", 1));
            classIndex = g.Node("ArgMax", [probabilities], null, "", new IntAttr("axis", 1), new IntAttr("keepdims", 1));
        }
        g.Node("LabelEncoder", [classIndex], "label", MlDomain,
            new IntsAttr("keys_int64s", Enumerable.Range(0, model.Classes.Count).Select(i => (long)i).ToArray()),
            new StringsAttr("values_strings", model.Classes.ToArray()),
            new StringAttr("default_string", ""));
        g.Output("label", StringType, 1);
        g.Output("probabilities", FloatType, model.Classes.Count);
        return g.Serialize(model.Task == MlTask.Binary ? "mlops_binary" : "mlops_multiclass");
    }

    /// <summary>Writes <see cref="Export"/> to <paramref name="path"/>.</summary>
    public static void Export(Model model, string path) => File.WriteAllBytes(path, Export(model));

    /// <summary>Graph inputs for the used columns and the [N, F] float feature matrix in the featurizer's order.</summary>
    private static string Featurize(OnnxGraph g, Featurizer featurizer)
    {
        var columns = new List<string>();
        foreach (var input in featurizer.Inputs.Where(i => i.Used))
            g.Input(input.Name, input.Kind == ColumnKind.Categorical ? StringType : FloatType);
        foreach (var feature in featurizer.Features)
        {
            var input = featurizer.Inputs[feature.Column];
            switch (feature.Source)
            {
                case FeatureSource.Value:
                    columns.Add(input.Name);
                    break;
                case FeatureSource.CategoryCode:
                {
                    var categories = input.Categories ?? [];
                    var keys = categories.ToList();
                    var values = Enumerable.Range(0, categories.Count).Select(i => (float)i).ToList();
                    // An empty string is how a missing category arrives in a string tensor.
                    if (!keys.Contains("")) { keys.Add(""); values.Add(float.NaN); }
                    columns.Add(g.Node("LabelEncoder", [input.Name], null, MlDomain,
                        new StringsAttr("keys_strings", keys), new FloatsAttr("values_floats", values), new FloatAttr("default_float", categories.Count)));
                    break;
                }
                default:
                    throw new MlException("unsupported_model", $"ONNX export does not support date/time features yet (column '{input.Name}').");
            }
        }
        return columns.Count == 1 ? columns[0] : g.Node("Concat", [.. columns], "features", "", new IntAttr("axis", 1));
    }

    /// <summary>One TreeEnsembleRegressor summing every tree into its output column: raw scores [N, OutputCount].</summary>
    private static string Trees(OnnxGraph g, GbdtEnsemble ensemble, string features)
    {
        List<long> treeIds = [], nodeIds = [], featureIds = [], trueIds = [], falseIds = [], missingTrue = [];
        List<float> thresholds = [];
        List<string> modes = [];
        List<long> targetTree = [], targetNode = [], targetOutput = [];
        List<float> weights = [];
        for (int t = 0; t < ensemble.Trees.Count; t++)
        {
            var tree = ensemble.Trees[t];
            int inner = tree.NodeCount;
            long Id(int child) => child >= 0 ? child : inner + ~child;
            for (int i = 0; i < inner; i++)
            {
                treeIds.Add(t); nodeIds.Add(i); featureIds.Add(tree.Feature[i]); thresholds.Add(tree.Threshold[i]);
                modes.Add("BRANCH_LEQ"); trueIds.Add(Id(tree.Left[i])); falseIds.Add(Id(tree.Right[i]));
                missingTrue.Add(tree.DefaultLeft[i] ? 1 : 0);
            }
            for (int l = 0; l < tree.LeafValue.Length; l++)
            {
                treeIds.Add(t); nodeIds.Add(inner + l); featureIds.Add(0); thresholds.Add(0);
                modes.Add("LEAF"); trueIds.Add(0); falseIds.Add(0); missingTrue.Add(0);
                targetTree.Add(t); targetNode.Add(inner + l); targetOutput.Add(tree.Class); weights.Add((float)tree.LeafValue[l]);
            }
        }
        return g.Node("TreeEnsembleRegressor", [features], null, MlDomain,
            new IntsAttr("nodes_treeids", treeIds), new IntsAttr("nodes_nodeids", nodeIds), new IntsAttr("nodes_featureids", featureIds),
            new FloatsAttr("nodes_values", thresholds), new StringsAttr("nodes_modes", modes),
            new IntsAttr("nodes_truenodeids", trueIds), new IntsAttr("nodes_falsenodeids", falseIds),
            new IntsAttr("nodes_missing_value_tracks_true", missingTrue),
            new IntsAttr("target_treeids", targetTree), new IntsAttr("target_nodeids", targetNode), new IntsAttr("target_ids", targetOutput),
            new FloatsAttr("target_weights", weights), new FloatsAttr("base_values", ensemble.InitialScores.Select(v => (float)v).ToArray()),
            new IntAttr("n_targets", ensemble.OutputCount), new StringAttr("aggregate_function", "SUM"), new StringAttr("post_transform", "NONE"));
    }
}
