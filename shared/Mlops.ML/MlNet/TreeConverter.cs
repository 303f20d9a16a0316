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
/// Native category splits (a set of one-hot slots) become short chains of threshold tests on the category code.
/// </summary>
internal static class TreeConverter
{
    // ML.NET keeps the per-node missing-value defaults on its internal tree; the public RegressionTreeBase does not
    // expose them, so they are read once by reflection (checked at first use, with a clear error if ML.NET changes).
    private static readonly FieldInfo? InnerTreeField = typeof(RegressionTreeBase).GetField(
        "_tree",
        BindingFlags.Instance | BindingFlags.NonPublic
    );

    /// <summary>
    /// Our trees for one output of an ML.NET ensemble: leaf values become <paramref name="scale"/> × tree weight × leaf
    /// value, so a linear link (e.g. a Platt calibrator's slope) folds into the trees. Returns the trees and the
    /// ensemble's bias times <paramref name="scale"/> (to add to the initial score). <paramref name="layout"/> maps
    /// ML.NET's slots back to our features.
    /// </summary>
    public static (List<RegressionTree> Trees, double Bias) Convert<TTree>(
        TreeEnsemble<TTree> ensemble,
        int outputIndex,
        SlotLayout layout,
        double scale = 1.0
    )
        where TTree : RegressionTreeBase
    {
        var result = new List<RegressionTree>(ensemble.Trees.Count);
        for (int t = 0; t < ensemble.Trees.Count; t++)
            result.Add(ConvertTree(ensemble.Trees[t], outputIndex, layout, scale * ensemble.TreeWeights[t]));
        return (result, scale * ensemble.Bias);
    }

    /// <summary>Our tree under construction: node arrays that category chains append to.</summary>
    private static RegressionTree ConvertTree(
        RegressionTreeBase tree,
        int outputIndex,
        SlotLayout layout,
        double leafScale
    )
    {
        int nodes = tree.NumberOfNodes;
        var leaves = tree.LeafValues.Select(v => v * leafScale).ToArray();
        // A one-leaf tree (LightGBM's constant trees arrive as two equal leaves; FastForest may produce true stumps).
        if (tree.NumberOfLeaves <= 1 || nodes == 0)
            return new RegressionTree(outputIndex, [], [], [], [], [], [], [leaves.Length > 0 ? leaves[0] : 0]);
        var missingDefaults = MissingDefaults(tree);
        var n = new TreeNodeLists(nodes); // ML.NET's nodes keep their indices; category chains go after them
        for (int i = 0; i < nodes; i++)
        {
            double gain = tree.SplitGains.Count > i ? tree.SplitGains[i] : 0;
            if (tree.CategoricalSplitFlags[i])
            {
                var slots = tree.GetCategoricalSplitFeaturesAt(i);
                int feature = layout.FeatureOfSlot(
                    slots.Count > 0 ? slots[0] : tree.GetCategoricalCategoricalSplitFeatureRangeAt(i)[0]
                );
                // ML.NET's category split: in the set → right child (its greater-than side); otherwise and missing → left.
                n.AddCategoryChain(
                    i,
                    feature,
                    slots.Select(slot => slot - layout.Start(feature)),
                    inside: tree.RightChild[i],
                    outside: tree.LeftChild[i],
                    gain
                );
                continue;
            }
            int slot = tree.NumericalSplitFeatureIndexes[i];
            int f = layout.FeatureOfSlot(slot);
            if (slot < 0 || slot >= layout.Width || layout.IsCategorical(f))
                throw new MlException(
                    "unsupported_model",
                    $"The ML.NET tree splits numerically on slot {slot}, which is not a numeric feature of this model."
                );
            float threshold = tree.NumericalSplitThresholds[i];
            // ML.NET: NaN becomes the node's default value, which then takes the ≤ test; without defaults NaN ≤ t is
            // false.
            bool defaultLeft = missingDefaults is not null && missingDefaults[i] <= threshold;
            n.Set(i, f, threshold, defaultLeft, tree.LeftChild[i], tree.RightChild[i], gain);
        }
        return n.ToTree(outputIndex, leaves);
    }

    private static float[]? MissingDefaults(RegressionTreeBase tree)
    {
        var inner = InnerTreeField?.GetValue(tree)
            ?? throw new MlException(
                "unsupported_model",
                "This ML.NET version hides its trees' missing-value defaults; the model cannot be converted."
            );
        var field = inner
            .GetType()
            .GetField("DefaultValueForMissing", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new MlException(
                "unsupported_model",
                "This ML.NET version hides its trees' missing-value defaults; the model cannot be converted."
            );
        return (float[]?)field.GetValue(inner);
    }
}
