using System.Globalization;
using Mlops.ML.Gbdt;

namespace Mlops.ML.LightGbm;

/// <summary>
/// Reads LightGBM's model text (<c>LGBM_BoosterSaveModelToString</c>) into our <see cref="GbdtEnsemble"/>, so serving,
/// batch prediction, ONNX export and TreeSHAP stay ours whichever engine trained the trees.
/// <para>
/// LightGBM's node test, which the conversion reproduces for every float32 input: a numeric node sends a value left
/// when <c>(double)x ≤ threshold</c>; a NaN goes the default direction when the node's missing type is NaN, and is
/// read as 0 otherwise (missing type "none"). A categorical node sends a row left when its category code is in the
/// node's bitset; NaN and negative codes go right. Leaf values already carry the learning rate, and the first tree
/// carries LightGBM's starting score (boost from average), so our initial scores are 0. Multiclass ensembles hold
/// <c>num_tree_per_iteration</c> trees per round, class by class.
/// </para>
/// </summary>
internal static class LightGbmModelText
{
    private const int CategoricalMask = 1,
        DefaultLeftMask = 2;
    private const int MissingNone = 0,
        MissingZero = 1,
        MissingNaN = 2;

    /// <summary>The ensemble for <paramref name="featureCount"/> features; throws on text this reader does not
    /// understand.</summary>
    public static GbdtEnsemble Parse(string modelText, int featureCount)
    {
        var header = new Dictionary<string, string>(StringComparer.Ordinal);
        var trees = new List<Dictionary<string, string>>();
        Dictionary<string, string>? current = header;
        foreach (var rawLine in modelText.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.StartsWith("Tree=", StringComparison.Ordinal))
            {
                current = new(StringComparer.Ordinal);
                trees.Add(current);
                continue;
            }
            if (line == "end of trees")
            {
                current = null;
                continue;
            }
            if (current is null)
                continue; // feature importances and parameters follow the trees
            int eq = line.IndexOf('=');
            if (eq > 0)
                current[line[..eq]] = line[(eq + 1)..];
        }
        int perRound = header.TryGetValue("num_tree_per_iteration", out var k) ? Int(k, "num_tree_per_iteration") : 1;
        if (perRound < 1)
            throw Bad("num_tree_per_iteration is below 1");
        if (
            header.TryGetValue("max_feature_idx", out var maxFeature)
            && Int(maxFeature, "max_feature_idx") >= featureCount
        )
            throw Bad($"the model uses {Int(maxFeature, "max_feature_idx") + 1} features, the data has {featureCount}");
        var result = new List<RegressionTree>(trees.Count);
        for (int t = 0; t < trees.Count; t++)
            result.Add(Tree(trees[t], t % perRound, t));
        return new GbdtEnsemble(perRound, featureCount, new double[perRound], result);
    }

    private static RegressionTree Tree(Dictionary<string, string> fields, int classIndex, int index)
    {
        if (fields.TryGetValue("is_linear", out var linear) && linear.Trim() != "0")
            throw Bad($"tree {index} is a linear tree");
        int leaves = Int(Field(fields, "num_leaves", index), "num_leaves");
        var leafValue = Doubles(fields, "leaf_value", index);
        if (leafValue.Length != leaves)
            throw Bad($"tree {index} lists {leafValue.Length} leaf values for {leaves} leaves");
        if (leaves == 1)
            return new RegressionTree(classIndex, [], [], [], [], [], [], leafValue);
        int inner = leaves - 1;
        var splitFeature = Ints(fields, "split_feature", index, inner);
        var threshold = Doubles(fields, "threshold", index, inner);
        var decision = Ints(fields, "decision_type", index, inner);
        var left = Ints(fields, "left_child", index, inner);
        var right = Ints(fields, "right_child", index, inner);
        var gain = Doubles(fields, "split_gain", index, inner);
        int[] catBoundaries = [];
        uint[] catBits = [];
        if (fields.TryGetValue("num_cat", out var numCat) && Int(numCat, "num_cat") > 0)
        {
            catBoundaries = Ints(fields, "cat_boundaries", index);
            catBits = Field(fields, "cat_threshold", index)
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => uint.Parse(s, CultureInfo.InvariantCulture))
                .ToArray();
        }
        bool categorical = false;
        var nodes = new TreeNodeLists(inner);
        for (int i = 0; i < inner; i++)
        {
            foreach (int child in (ReadOnlySpan<int>)[left[i], right[i]])
                if (child >= inner || ~child >= leaves)
                    throw Bad($"tree {index} node {i} points to a missing child {child}");
            if ((decision[i] & CategoricalMask) != 0)
            {
                int set = (int)threshold[i];
                if (set < 0 || set + 1 >= catBoundaries.Length || catBoundaries[set + 1] > catBits.Length)
                    throw Bad($"tree {index} node {i} has no category set {set}");
                var codes = new List<int>();
                for (int word = catBoundaries[set]; word < catBoundaries[set + 1]; word++)
                for (int bit = 0; bit < 32; bit++)
                    if ((catBits[word] & (1u << bit)) != 0)
                        codes.Add((word - catBoundaries[set]) * 32 + bit);
                // In the set → LightGBM's left; not in it, NaN → its right: the chain's "outside" is LightGBM's right.
                nodes.AddCategoryChain(i, splitFeature[i], codes, inside: left[i], outside: right[i], gain[i]);
                categorical = true;
                continue;
            }
            int missing = (decision[i] >> 2) & 3;
            bool defaultLeft = (decision[i] & DefaultLeftMask) != 0;
            bool zeroGoesLeft = 0 <= threshold[i];
            bool nanLeft = missing switch
            {
                MissingNaN => defaultLeft,
                MissingNone => zeroGoesLeft, // LightGBM reads NaN as 0 here
                // Zero as missing sends every exact 0 the default way; our test can say so only when it agrees with ≤.
                MissingZero when defaultLeft == zeroGoesLeft => defaultLeft,
                _ => throw Bad(
                    $"tree {index} node {i} treats zero as missing against its threshold (zero_as_missing is not supported)"
                ),
            };
            nodes.Set(i, splitFeature[i], FloatAtOrBelow(threshold[i]), nanLeft, left[i], right[i], gain[i]);
        }
        var tree = nodes.ToTree(classIndex, leafValue);
        // LightGBM counts the rows that reached each node while it trains (internal_count, leaf_count): the cover
        // TreeSHAP needs, free. Category chains add nodes LightGBM has no count for; those trees are counted by the
        // caller.
        if (!categorical && fields.TryGetValue("internal_count", out _) && fields.TryGetValue("leaf_count", out _))
        {
            var cover = Doubles(fields, "internal_count", index, inner);
            var leafCover = Doubles(fields, "leaf_count", index, leaves);
            return tree.WithCover(cover, leafCover);
        }
        return tree;
    }

    /// <summary>
    /// The largest float ≤ <paramref name="threshold"/>: for every float x, <c>x ≤ result ⇔ (double)x ≤ threshold</c>.
    /// Rounding to the nearest float instead could land above the threshold, on a training value LightGBM sent right.
    /// </summary>
    internal static float FloatAtOrBelow(double threshold)
    {
        float f = (float)threshold;
        return f > threshold ? MathF.BitDecrement(f) : f;
    }

    private static string Field(Dictionary<string, string> fields, string name, int index) =>
        fields.TryGetValue(name, out var value) ? value : throw Bad($"tree {index} has no {name}");

    private static int Int(string text, string name) =>
        int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw Bad($"{name} '{text}' is not an integer");

    private static int[] Ints(Dictionary<string, string> fields, string name, int index, int expected = -1)
    {
        var parts = Field(fields, name, index).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (expected >= 0 && parts.Length != expected)
            throw Bad($"tree {index} lists {parts.Length} {name} values, {expected} expected");
        return parts.Select(p => Int(p, name)).ToArray();
    }

    private static double[] Doubles(Dictionary<string, string> fields, string name, int index, int expected = -1)
    {
        var parts = Field(fields, name, index).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (expected >= 0 && parts.Length != expected)
            throw Bad($"tree {index} lists {parts.Length} {name} values, {expected} expected");
        return parts
            .Select(p =>
                double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
                : p is "inf" or "+inf" ? double.PositiveInfinity
                : p == "-inf" ? double.NegativeInfinity
                : throw Bad($"{name} value '{p}' is not a number")
            )
            .ToArray();
    }

    private static MlException Bad(string what) =>
        new("unsupported_model", $"LightGBM's model text cannot be read: {what}.");
}
