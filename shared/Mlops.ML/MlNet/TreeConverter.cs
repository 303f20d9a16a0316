using System.Reflection;
using Microsoft.ML.Trainers.FastTree;
using Mlops.ML.Gbdt;
using RegressionTree = Mlops.ML.Gbdt.RegressionTree;

namespace Mlops.ML.MlNet;

/// <summary>
/// Converts trees trained by ML.NET (LightGBM, FastForest) into our <see cref="RegressionTree"/> so that serving,
/// batch prediction and ONNX export stay ours. ML.NET walks a node as "value ≤ threshold → left child" with the same
/// negative-child leaf encoding as ours; a missing value is first replaced by the node's default value (LightGBM's
/// default direction encoded as the threshold itself, or threshold + 1) — or, when a tree has no default values at
/// all, compared as NaN and so sent right. Both rules become our per-node <see cref="RegressionTree.DefaultLeft"/>.
/// </summary>
internal static class TreeConverter
{
    // ML.NET keeps the per-node missing-value defaults on its internal tree; the public RegressionTreeBase does not
    // expose them, so they are read once by reflection (checked at first use, with a clear error if ML.NET changes).
    private static readonly FieldInfo? InnerTreeField = typeof(RegressionTreeBase).GetField("_tree", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>
    /// Our trees for one output of an ML.NET ensemble: leaf values become <paramref name="scale"/> × tree weight × leaf value,
    /// so a linear link (e.g. a Platt calibrator's slope) folds into the trees. Returns the trees and the ensemble's
    /// bias times <paramref name="scale"/> (to add to the initial score).
    /// </summary>
    public static (List<RegressionTree> Trees, double Bias) Convert<TTree>(TreeEnsemble<TTree> ensemble, int outputIndex, int featureCount, double scale = 1.0)
        where TTree : RegressionTreeBase
    {
        var result = new List<RegressionTree>(ensemble.Trees.Count);
        for (int t = 0; t < ensemble.Trees.Count; t++)
            result.Add(ConvertTree(ensemble.Trees[t], outputIndex, featureCount, scale * ensemble.TreeWeights[t]));
        return (result, scale * ensemble.Bias);
    }

    private static RegressionTree ConvertTree(RegressionTreeBase tree, int outputIndex, int featureCount, double leafScale)
    {
        int nodes = tree.NumberOfNodes;
        var leaves = tree.LeafValues.Select(v => v * leafScale).ToArray();
        // A one-leaf tree (LightGBM's constant trees arrive as two equal leaves; FastForest may produce true stumps).
        if (tree.NumberOfLeaves <= 1 || nodes == 0)
            return new RegressionTree(outputIndex, [], [], [], [], [], [], [leaves.Length > 0 ? leaves[0] : 0]);
        var feature = new int[nodes];
        var threshold = new float[nodes];
        var defaultLeft = new bool[nodes];
        var left = new int[nodes];
        var right = new int[nodes];
        var gain = new double[nodes];
        var missingDefaults = MissingDefaults(tree);
        for (int i = 0; i < nodes; i++)
        {
            if (tree.CategoricalSplitFlags[i])
                throw new MlException("unsupported_model", "The ML.NET tree uses a categorical split, which this converter does not translate (categories are passed as ordered codes).");
            feature[i] = tree.NumericalSplitFeatureIndexes[i];
            if (feature[i] < 0 || feature[i] >= featureCount)
                throw new MlException("unsupported_model", $"The ML.NET tree splits on feature {feature[i]}, but the model has {featureCount} features.");
            threshold[i] = tree.NumericalSplitThresholds[i];
            left[i] = tree.LeftChild[i];
            right[i] = tree.RightChild[i];
            gain[i] = tree.SplitGains.Count > i ? tree.SplitGains[i] : 0;
            // ML.NET: NaN becomes the node's default value, which then takes the ≤ test; without defaults NaN ≤ t is false.
            defaultLeft[i] = missingDefaults is not null && missingDefaults[i] <= threshold[i];
        }
        return new RegressionTree(outputIndex, feature, threshold, defaultLeft, left, right, gain, leaves);
    }

    private static float[]? MissingDefaults(RegressionTreeBase tree)
    {
        var inner = InnerTreeField?.GetValue(tree)
            ?? throw new MlException("unsupported_model", "This ML.NET version hides its trees' missing-value defaults; the model cannot be converted.");
        var field = inner.GetType().GetField("DefaultValueForMissing", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new MlException("unsupported_model", "This ML.NET version hides its trees' missing-value defaults; the model cannot be converted.");
        return (float[]?)field.GetValue(inner);
    }
}
