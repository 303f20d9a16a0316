using System.Reflection;
using Microsoft.ML.Trainers.FastTree;
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
    private sealed class NodeLists
    {
        public readonly List<int> Feature = [],
            Left = [],
            Right = [];
        public readonly List<float> Threshold = [];
        public readonly List<bool> DefaultLeft = [];
        public readonly List<double> Gain = [];

        public int Add(int feature, float threshold, bool defaultLeft, int left, int right, double gain)
        {
            Feature.Add(feature);
            Threshold.Add(threshold);
            DefaultLeft.Add(defaultLeft);
            Left.Add(left);
            Right.Add(right);
            Gain.Add(gain);
            return Feature.Count - 1;
        }

        public void Set(int node, int feature, float threshold, bool defaultLeft, int left, int right, double gain) =>
            (Feature[node], Threshold[node], DefaultLeft[node], Left[node], Right[node], Gain[node]) = (
                feature,
                threshold,
                defaultLeft,
                left,
                right,
                gain
            );
    }

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
        var n = new NodeLists();
        for (int i = 0; i < nodes; i++)
            n.Add(0, 0, false, 0, 0, 0); // ML.NET's nodes keep their indices; category chains go after them
        for (int i = 0; i < nodes; i++)
        {
            double gain = tree.SplitGains.Count > i ? tree.SplitGains[i] : 0;
            if (tree.CategoricalSplitFlags[i])
            {
                var slots = tree.GetCategoricalSplitFeaturesAt(i);
                int feature = layout.FeatureOfSlot(
                    slots.Count > 0 ? slots[0] : tree.GetCategoricalCategoricalSplitFeatureRangeAt(i)[0]
                );
                CategoryChain(
                    n,
                    i,
                    feature,
                    slots.Select(slot => slot - layout.Start(feature)),
                    tree.LeftChild[i],
                    tree.RightChild[i],
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
        return new RegressionTree(
            outputIndex,
            n.Feature.ToArray(),
            n.Threshold.ToArray(),
            n.DefaultLeft.ToArray(),
            n.Left.ToArray(),
            n.Right.ToArray(),
            n.Gain.ToArray(),
            leaves
        );
    }

    /// <summary>
    /// ML.NET's category split — "the row's category is in the set → right child (ML.NET's greater-than side),
    /// otherwise (and when missing) → left" — as threshold tests on the category code, one pair per run of consecutive
    /// codes: code ≤ a − ½ → left; else code ≤ b + ½ → right; else the next run (or left after the last). Node
    /// <paramref name="head"/> keeps its index so its parent's link stays valid.
    /// </summary>
    private static void CategoryChain(
        NodeLists n,
        int head,
        int feature,
        IEnumerable<int> codes,
        int left,
        int right,
        double gain
    )
    {
        var runs = new List<(int From, int To)>();
        foreach (int c in codes.Order())
            if (runs.Count > 0 && runs[^1].To == c - 1)
                runs[^1] = (runs[^1].From, c);
            else
                runs.Add((c, c));
        if (runs.Count == 0)
        {
            n.Set(head, feature, float.PositiveInfinity, true, left, left, gain);
            return;
        }
        int lowNode = head;
        for (int r = 0; r < runs.Count; r++)
        {
            int highNode = n.Add(feature, 0, true, 0, 0, 0);
            int next = r + 1 < runs.Count ? n.Add(feature, 0, true, 0, 0, 0) : left;
            n.Set(lowNode, feature, runs[r].From - 0.5f, true, left, highNode, r == 0 ? gain : 0);
            n.Set(highNode, feature, runs[r].To + 0.5f, true, right, next, 0);
            lowNode = next;
        }
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
