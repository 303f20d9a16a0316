using System.Buffers;
using Mlops.ML.Gbdt;

namespace Mlops.ML.Explain;

/// <summary>
/// Exact Shapley values of a tree ensemble's raw score under the path-dependent value function (Lundberg et al., 2018,
/// "Consistent individualized feature attribution for tree ensembles", algorithm 2): the value of a feature subset S is
/// the tree's output when the features in S follow the row and every other split sends the row down both sides,
/// weighted by the share of training rows (cover) each side received. Polynomial time — O(leaves × depth²) per tree —
/// instead of the 2^features of the definition; the test suite checks both agree.
/// </summary>
/// <remarks>
/// A child's weight is its cover over the two children's total (half each when neither saw a row). A side no
/// training row reached has weight 0 and is skipped when the row does not go there: every term it could add is
/// multiplied by its zero weight. Immutable and thread-safe; per call it rents one path buffer.
/// </remarks>
internal sealed class TreeShap
{
    private struct PathElement
    {
        public int Feature;
        public double Zero; // share of the unconditioned weight that flows down this path (feature unknown)
        public double One; // 1 when the row itself goes this way (feature known), else 0
        public double Weight; // permutation weight of subsets of a given size, as extended along the path
    }

    private readonly GbdtEnsemble _ensemble;
    private readonly double[][] _leftShare;
    private readonly int _maxDepth;
    private readonly double[] _inverse; // 1/k for k = 1 … max depth + 2 (index 0 unused)

    private TreeShap(GbdtEnsemble ensemble, double[][] leftShare, double[] expected, int maxDepth)
    {
        _ensemble = ensemble;
        _leftShare = leftShare;
        Expected = expected;
        _maxDepth = maxDepth;
        _inverse = new double[maxDepth + 3];
        for (int k = 1; k < _inverse.Length; k++)
            _inverse[k] = 1.0 / k;
    }

    /// <summary>Base value per output: the initial score plus every tree's cover-weighted mean leaf value.</summary>
    public double[] Expected { get; }

    /// <summary>Whether every tree carries node covers (trees trained before explanations existed do not).</summary>
    public static bool CanExplain(GbdtEnsemble ensemble) =>
        ensemble.Trees.All(t => t.Cover is not null && t.LeafCover is not null);

    /// <summary>Prepares the ensemble (child shares, base values); throws <see cref="MlException"/> when covers are
    /// missing.</summary>
    public static TreeShap For(GbdtEnsemble ensemble)
    {
        if (!CanExplain(ensemble))
            throw new MlException(
                "explain_unavailable",
                "This model's trees carry no node covers (it was trained before explanations were added); retrain it to get explanations."
            );
        var shares = new double[ensemble.Trees.Count][];
        var expected = (double[])ensemble.InitialScores.Clone();
        int maxDepth = 0;
        for (int t = 0; t < ensemble.Trees.Count; t++)
        {
            var tree = ensemble.Trees[t];
            var share = new double[tree.NodeCount];
            for (int n = 0; n < tree.NodeCount; n++)
            {
                double l = CoverOf(tree, tree.Left[n]),
                    r = CoverOf(tree, tree.Right[n]);
                share[n] = l + r > 0 ? l / (l + r) : 0.5;
            }
            shares[t] = share;
            expected[tree.Class] += tree.NodeCount == 0 ? tree.LeafValue[0] : Mean(tree, share, 0);
            maxDepth = Math.Max(maxDepth, Depth(tree, 0));
        }
        return new TreeShap(ensemble, shares, expected, maxDepth);
    }

    private static double CoverOf(RegressionTree tree, int child) =>
        child >= 0 ? tree.Cover![child] : tree.LeafCover![~child];

    private static double Mean(RegressionTree tree, double[] share, int child)
    {
        if (child < 0)
            return tree.LeafValue[~child];
        return share[child] * Mean(tree, share, tree.Left[child])
            + (1 - share[child]) * Mean(tree, share, tree.Right[child]);
    }

    private static int Depth(RegressionTree tree, int child) =>
        child < 0 || tree.NodeCount == 0
            ? 0
            : 1 + Math.Max(Depth(tree, tree.Left[child]), Depth(tree, tree.Right[child]));

    /// <summary>
    /// Adds the row's Shapley values to <paramref name="phi"/> (output-major: <c>phi[output × features + feature]</c>).
    /// Σ phi of an output + <see cref="Expected"/> equals the ensemble's raw score for that output.
    /// </summary>
    public void Explain(ReadOnlySpan<float> x, Span<double> phi)
    {
        int f = _ensemble.FeatureCount;
        // One segment per recursion level, each one element longer than the last: (d + 2)(d + 3) / 2 in all.
        int size = (_maxDepth + 2) * (_maxDepth + 3) / 2;
        var path = ArrayPool<PathElement>.Shared.Rent(size);
        try
        {
            for (int t = 0; t < _ensemble.Trees.Count; t++)
            {
                var tree = _ensemble.Trees[t];
                if (tree.NodeCount == 0)
                    continue; // a single leaf is all base value
                Recurse(tree, _leftShare[t], x, phi.Slice(tree.Class * f, f), path, _inverse, 0, 0, 0, 1, 1, -1);
            }
        }
        finally
        {
            ArrayPool<PathElement>.Shared.Return(path);
        }
    }

    private static void Recurse(
        RegressionTree tree,
        double[] leftShare,
        ReadOnlySpan<float> x,
        Span<double> phi,
        PathElement[] buffer,
        double[] inverse,
        int start,
        int depth,
        int node,
        double zero,
        double one,
        int feature
    )
    {
        // This level's path is a copy of the parent's (which sits just before it), extended by the split that led here.
        var path = buffer.AsSpan(start, depth + 1);
        if (depth > 0)
            buffer.AsSpan(start - depth, depth).CopyTo(path);
        Extend(path, depth, zero, one, feature, inverse);

        if (node < 0)
        {
            double value = tree.LeafValue[~node];
            for (int i = 1; i <= depth; i++)
                phi[path[i].Feature] += UnwoundSum(path, depth, i, inverse) * (path[i].One - path[i].Zero) * value;
            return;
        }

        int split = tree.Feature[node];
        float v = x[split];
        bool goesLeft = float.IsNaN(v) ? tree.DefaultLeft[node] : v <= tree.Threshold[node];
        int hot = goesLeft ? tree.Left[node] : tree.Right[node];
        int cold = goesLeft ? tree.Right[node] : tree.Left[node];
        double hotShare = goesLeft ? leftShare[node] : 1 - leftShare[node];

        // A feature met again on the path: undo its earlier extension and carry its fractions into this split.
        double inZero = 1,
            inOne = 1;
        int seen = -1;
        for (int i = 1; i <= depth; i++)
            if (path[i].Feature == split)
            {
                seen = i;
                break;
            }
        if (seen > 0)
        {
            inZero = path[seen].Zero;
            inOne = path[seen].One;
            Unwind(path, depth, seen, inverse);
            depth--;
        }
        // The children's segment starts right after the live path (the parent of a segment always sits just before it).
        int next = start + depth + 1;
        double hotZero = hotShare * inZero;
        if (hotZero > 0 || inOne != 0)
            Recurse(tree, leftShare, x, phi, buffer, inverse, next, depth + 1, hot, hotZero, inOne, split);
        double coldZero = (1 - hotShare) * inZero;
        if (coldZero > 0)
            Recurse(tree, leftShare, x, phi, buffer, inverse, next, depth + 1, cold, coldZero, 0, split);
    }

    // One is always 0 or 1 (the row goes this way or not), so "one != 0" means one == 1 and needs no division. The
    // remaining divisions by small integers use the reciprocal table: the loops below run O(depth²) times per leaf.

    private static void Extend(
        Span<PathElement> path,
        int depth,
        double zero,
        double one,
        int feature,
        double[] inverse
    )
    {
        path[depth] = new PathElement
        {
            Feature = feature,
            Zero = zero,
            One = one,
            Weight = depth == 0 ? 1 : 0,
        };
        double scale = inverse[depth + 1];
        for (int i = depth - 1; i >= 0; i--)
        {
            path[i + 1].Weight += one * path[i].Weight * (i + 1) * scale;
            path[i].Weight = zero * path[i].Weight * (depth - i) * scale;
        }
    }

    private static void Unwind(Span<PathElement> path, int depth, int index, double[] inverse)
    {
        double one = path[index].One,
            zero = path[index].Zero;
        double carry = path[depth].Weight,
            scale = inverse[depth + 1];
        if (one != 0)
        {
            for (int j = depth - 1; j >= 0; j--)
            {
                double w = path[j].Weight;
                path[j].Weight = carry * (depth + 1) * inverse[j + 1];
                carry = w - path[j].Weight * zero * (depth - j) * scale;
            }
        }
        else
        {
            double factor = (depth + 1) / zero;
            for (int j = depth - 1; j >= 0; j--)
                path[j].Weight = path[j].Weight * factor * inverse[depth - j];
        }
        for (int j = index; j < depth; j++)
        {
            path[j].Feature = path[j + 1].Feature;
            path[j].Zero = path[j + 1].Zero;
            path[j].One = path[j + 1].One;
        }
    }

    private static double UnwoundSum(ReadOnlySpan<PathElement> path, int depth, int index, double[] inverse)
    {
        double one = path[index].One,
            zero = path[index].Zero;
        double total = 0;
        if (one != 0)
        {
            double carry = path[depth].Weight,
                scale = zero * inverse[depth + 1];
            for (int j = depth - 1; j >= 0; j--)
            {
                double w = carry * (depth + 1) * inverse[j + 1];
                total += w;
                carry = path[j].Weight - w * (depth - j) * scale;
            }
        }
        else
        {
            for (int j = depth - 1; j >= 0; j--)
                total += path[j].Weight * inverse[depth - j];
            total *= (depth + 1) / zero;
        }
        return total;
    }
}
