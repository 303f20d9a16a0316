using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.Linear;
using Mlops.ML.Models;
using static Mlops.ML.Onnx.OnnxGraph;

namespace Mlops.ML.Onnx;

/// <summary>
/// Exports a model as an ONNX-ML graph any ONNX runtime can serve. Inputs: one per used raw column, named as the
/// column, shape [N, 1] — float for numeric and boolean columns (NaN = missing), string for categorical ones (unseen →
/// "other", empty string → missing). Outputs: <c>label</c> ([N, 1]: the class as a string, or the regression value)
/// and, for classifiers, <c>probabilities</c> ([N, classes], no ZipMap). Trees: <c>LabelEncoder</c> codes +
/// <c>Concat</c> into one
/// <c>TreeEnsembleRegressor</c>; linear models: <c>Imputer</c>, <c>Scaler</c>, <c>OneHotEncoder</c> into
/// <c>LinearRegressor</c>. Both produce raw scores, followed by <c>Sigmoid</c> or <c>Softmax</c>, the
/// decision threshold, and a <c>LabelEncoder</c> from class index to class label.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ONNX bytes of <paramref name="model"/>.</summary>
    /// <exception cref="MlException"><c>unsupported_model</c> for models the exporter cannot express yet (datetime
    /// inputs).</exception>
    public static byte[] Export(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var g = new OnnxGraph();
        foreach (var input in model.Featurizer.Inputs.Where(i => i.Used))
            g.Input(input.Name, input.Kind == ColumnKind.Categorical ? StringType : FloatType);
        string raw = model.Predictor switch
        {
            GbdtEnsemble ensemble => Trees(g, ensemble, TreeFeatures(g, model.Featurizer)),
            LinearModel linear => Linear(g, linear, model.Featurizer),
            var other => throw new MlException(
                "unsupported_model",
                $"ONNX export does not know the predictor {other.GetType().Name}."
            ),
        };
        if (model.Task == MlTask.Regression)
        {
            g.Node("Identity", [raw], "label");
            g.Output("label", FloatType, 1);
            return g.Serialize("mlops_regression");
        }
        string probabilities,
            classIndex;
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
            classIndex = g.Node(
                "ArgMax",
                [probabilities],
                null,
                "",
                new IntAttr("axis", 1),
                new IntAttr("keepdims", 1)
            );
        }
        g.Node(
            "LabelEncoder",
            [classIndex],
            "label",
            MlDomain,
            new IntsAttr("keys_int64s", Enumerable.Range(0, model.Classes.Count).Select(i => (long)i).ToArray()),
            new StringsAttr("values_strings", model.Classes.ToArray()),
            new StringAttr("default_string", "")
        );
        g.Output("label", StringType, 1);
        g.Output("probabilities", FloatType, model.Classes.Count);
        return g.Serialize(model.Task == MlTask.Binary ? "mlops_binary" : "mlops_multiclass");
    }

    /// <summary>Writes <see cref="Export(Model)"/> to <paramref name="path"/>.</summary>
    public static void Export(Model model, string path) => File.WriteAllBytes(path, Export(model));

    /// <summary>The [N, F] float feature matrix trees read, in the featurizer's order (categories as codes, missing as
    /// NaN).</summary>
    private static string TreeFeatures(OnnxGraph g, Featurizer featurizer)
    {
        var columns = new List<string>();
        foreach (var feature in featurizer.Features)
        {
            var input = featurizer.Inputs[feature.Column];
            if (feature.Source == FeatureSource.Value)
            {
                columns.Add(input.Name);
                continue;
            }
            RequireCategorical(feature, input);
            var (keys, codes) = CategoryKeys(input);
            columns.Add(
                g.Node(
                    "LabelEncoder",
                    [input.Name],
                    null,
                    MlDomain,
                    new StringsAttr("keys_strings", keys),
                    new FloatsAttr("values_floats", codes.Select(c => c < 0 ? float.NaN : c).ToArray()),
                    new FloatAttr("default_float", input.Categories?.Count ?? 0)
                )
            );
        }
        return Concat(g, columns);
    }

    /// <summary>
    /// The linear model: numeric inputs imputed (<c>Imputer</c>) and standardized (<c>Scaler</c>), categorical inputs
    /// one-hot encoded over known categories + "other" (<c>LabelEncoder</c> to a code, <c>OneHotEncoder</c>; missing =
    /// all zeros), concatenated in the model's column order and scored by <c>LinearRegressor</c>: raw scores [N,
    /// OutputCount].
    /// </summary>
    private static string Linear(OnnxGraph g, LinearModel linear, Featurizer featurizer)
    {
        var columns = new List<string>();
        foreach (var term in linear.Terms.OrderBy(t => t.Offset))
        {
            var feature = featurizer.Features[term.Feature];
            var input = featurizer.Inputs[feature.Column];
            if (!term.Categorical)
            {
                if (feature.Source != FeatureSource.Value)
                    RequireCategorical(feature, input);
                string imputed = g.Node(
                    "Imputer",
                    [input.Name],
                    null,
                    MlDomain,
                    new FloatsAttr("imputed_value_floats", [(float)term.Impute]),
                    new FloatAttr("replaced_value_float", float.NaN)
                );
                columns.Add(
                    g.Node(
                        "Scaler",
                        [imputed],
                        null,
                        MlDomain,
                        new FloatsAttr("offset", [(float)term.Mean]),
                        new FloatsAttr("scale", [(float)(1 / term.Scale)])
                    )
                );
                continue;
            }
            var (keys, codes) = CategoryKeys(input);
            string code = g.Node(
                "LabelEncoder",
                [input.Name],
                null,
                MlDomain,
                new StringsAttr("keys_strings", keys),
                new IntsAttr("values_int64s", codes.Select(c => (long)c).ToArray()),
                new IntAttr("default_int64", input.Categories?.Count ?? 0)
            );
            string oneHot = g.Node(
                "OneHotEncoder",
                [code],
                null,
                MlDomain,
                new IntsAttr("cats_int64s", Enumerable.Range(0, term.Slots).Select(i => (long)i).ToArray()),
                new IntAttr("zeros", 1)
            );
            columns.Add(g.Node("Flatten", [oneHot], null, "", new IntAttr("axis", 1)));
        }
        return g.Node(
            "LinearRegressor",
            [Concat(g, columns)],
            null,
            MlDomain,
            new FloatsAttr("coefficients", linear.Weights.Select(w => (float)w).ToArray()),
            new FloatsAttr("intercepts", linear.Intercepts.Select(b => (float)b).ToArray()),
            new IntAttr("targets", linear.OutputCount)
        );
    }

    /// <summary>Known categories → their code; the empty string (how a missing category arrives in a string tensor) →
    /// -1.</summary>
    private static (List<string> Keys, List<int> Codes) CategoryKeys(InputColumn input)
    {
        var keys = (input.Categories ?? []).ToList();
        var codes = Enumerable.Range(0, keys.Count).ToList();
        if (!keys.Contains(""))
        {
            keys.Add("");
            codes.Add(-1);
        }
        return (keys, codes);
    }

    private static void RequireCategorical(FeatureDefinition feature, InputColumn input)
    {
        if (feature.Source != FeatureSource.CategoryCode)
            throw new MlException(
                "unsupported_model",
                $"ONNX export does not support date/time features yet (column '{input.Name}')."
            );
    }

    private static string Concat(OnnxGraph g, List<string> columns) =>
        columns.Count == 1 ? columns[0] : g.Node("Concat", [.. columns], null, "", new IntAttr("axis", 1));

    /// <summary>One TreeEnsembleRegressor summing every tree into its output column: raw scores [N,
    /// OutputCount].</summary>
    private static string Trees(OnnxGraph g, GbdtEnsemble ensemble, string features)
    {
        List<long> treeIds = [],
            nodeIds = [],
            featureIds = [],
            trueIds = [],
            falseIds = [],
            missingTrue = [];
        List<float> thresholds = [];
        List<string> modes = [];
        List<long> targetTree = [],
            targetNode = [],
            targetOutput = [];
        List<float> weights = [];
        for (int t = 0; t < ensemble.Trees.Count; t++)
        {
            var tree = ensemble.Trees[t];
            int inner = tree.NodeCount;
            long Id(int child) => child >= 0 ? child : inner + ~child;
            for (int i = 0; i < inner; i++)
            {
                treeIds.Add(t);
                nodeIds.Add(i);
                featureIds.Add(tree.Feature[i]);
                thresholds.Add(tree.Threshold[i]);
                modes.Add("BRANCH_LEQ");
                trueIds.Add(Id(tree.Left[i]));
                falseIds.Add(Id(tree.Right[i]));
                missingTrue.Add(tree.DefaultLeft[i] ? 1 : 0);
            }
            for (int l = 0; l < tree.LeafValue.Length; l++)
            {
                treeIds.Add(t);
                nodeIds.Add(inner + l);
                featureIds.Add(0);
                thresholds.Add(0);
                modes.Add("LEAF");
                trueIds.Add(0);
                falseIds.Add(0);
                missingTrue.Add(0);
                targetTree.Add(t);
                targetNode.Add(inner + l);
                targetOutput.Add(tree.Class);
                weights.Add((float)tree.LeafValue[l]);
            }
        }
        return g.Node(
            "TreeEnsembleRegressor",
            [features],
            null,
            MlDomain,
            new IntsAttr("nodes_treeids", treeIds),
            new IntsAttr("nodes_nodeids", nodeIds),
            new IntsAttr("nodes_featureids", featureIds),
            new FloatsAttr("nodes_values", thresholds),
            new StringsAttr("nodes_modes", modes),
            new IntsAttr("nodes_truenodeids", trueIds),
            new IntsAttr("nodes_falsenodeids", falseIds),
            new IntsAttr("nodes_missing_value_tracks_true", missingTrue),
            new IntsAttr("target_treeids", targetTree),
            new IntsAttr("target_nodeids", targetNode),
            new IntsAttr("target_ids", targetOutput),
            new FloatsAttr("target_weights", weights),
            new FloatsAttr("base_values", ensemble.InitialScores.Select(v => (float)v).ToArray()),
            new IntAttr("n_targets", ensemble.OutputCount),
            new StringAttr("aggregate_function", "SUM"),
            new StringAttr("post_transform", "NONE")
        );
    }
}
