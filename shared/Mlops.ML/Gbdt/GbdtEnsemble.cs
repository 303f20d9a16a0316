using System.Runtime.InteropServices;

namespace Mlops.ML.Gbdt;

/// <summary>
/// A trained boosted ensemble: raw score of output c = <see cref="InitialScores"/>[c] + the leaf values of the trees
/// with
/// <see cref="RegressionTree.Class"/> c, added in tree order (the same order for one row and for a batch, so both give
/// bit-identical results). Immutable and thread-safe.
/// </summary>
public sealed class GbdtEnsemble : Models.IPredictor
{
    /// <summary>
    /// Packed node for prediction (16 bytes). Leaves are nodes too, pointing to themselves, so every row can take the
    /// same fixed number of steps per tree with no data-dependent branch; rows are walked eight at a time so their
    /// memory loads overlap.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Node
    {
        public float Threshold;
        public int Feature; // bit 31 set: missing values go left
        public int Left; // global node index when value ≤ threshold
        public int Right;
    }

    private readonly Node[] _nodes;
    private readonly double[] _nodeValue;
    private readonly int[] _root;
    private readonly int[] _depth;
    private readonly int[] _class;

    public GbdtEnsemble(int outputCount, int featureCount, double[] initialScores, IReadOnlyList<RegressionTree> trees)
    {
        OutputCount = outputCount;
        FeatureCount = featureCount;
        InitialScores = initialScores;
        Trees = trees;
        int total = trees.Sum(t => t.NodeCount + t.LeafValue.Length);
        _nodes = new Node[total];
        _nodeValue = new double[total];
        _root = new int[trees.Count];
        _depth = new int[trees.Count];
        _class = new int[trees.Count];
        int at = 0;
        for (int t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            int inner = tree.NodeCount,
                leafBase = at + inner;
            int Map(int child) => child >= 0 ? at + child : leafBase + ~child;
            for (int i = 0; i < inner; i++)
            {
                if (tree.Feature[i] < 0 || tree.Feature[i] >= featureCount)
                    throw new ArgumentException($"Tree {t} uses feature {tree.Feature[i]} of {featureCount}.");
                _nodes[at + i] = new Node
                {
                    Threshold = tree.Threshold[i],
                    Feature = tree.Feature[i] | (tree.DefaultLeft[i] ? int.MinValue : 0),
                    Left = Map(tree.Left[i]),
                    Right = Map(tree.Right[i]),
                };
            }
            for (int l = 0; l < tree.LeafValue.Length; l++)
            {
                _nodes[leafBase + l] = new Node
                {
                    Threshold = float.PositiveInfinity,
                    Feature = 0,
                    Left = leafBase + l,
                    Right = leafBase + l,
                };
                _nodeValue[leafBase + l] = tree.LeafValue[l];
            }
            _root[t] = inner == 0 ? leafBase : at;
            _depth[t] = inner == 0 ? 0 : Depth(tree, 0);
            _class[t] = tree.Class;
            at += inner + tree.LeafValue.Length;
        }
    }

    private static int Depth(RegressionTree tree, int node)
    {
        if (node < 0)
            return 0;
        return 1 + Math.Max(Depth(tree, tree.Left[node]), Depth(tree, tree.Right[node]));
    }

    public int OutputCount { get; }
    public int FeatureCount { get; }
    public double[] InitialScores { get; }
    public IReadOnlyList<RegressionTree> Trees { get; }

    /// <summary>Writes raw scores for <paramref name="rows"/> row-major feature rows into <paramref name="raw"/> (rows
    /// × OutputCount), initial scores included.</summary>
    public unsafe void Predict(ReadOnlySpan<float> features, int rows, Span<double> raw)
    {
        int k = OutputCount,
            f = FeatureCount;
        if (features.Length < rows * f || raw.Length < rows * k)
            throw new ArgumentException("Buffers are smaller than rows × width.");
        for (int r = 0; r < rows; r++)
        for (int c = 0; c < k; c++)
            raw[r * k + c] = InitialScores[c];
        // Most blocks have no missing values; they take a shorter step without the NaN test.
        bool anyMissing = HasNaN(features[..(rows * f)]);
        fixed (Node* nodes = _nodes)
        fixed (double* values = _nodeValue)
        fixed (float* x = features)
        fixed (double* outp = raw)
        {
            // Tree-major order keeps one tree's nodes in cache across the block; per row, trees are still added in
            // order.
            for (int t = 0; t < _root.Length; t++)
            {
                int root = _root[t],
                    depth = _depth[t],
                    c = _class[t];
                int r = 0;
                for (; r + 8 <= rows; r += 8)
                {
                    float* x0 = x + r * f;
                    int n0 = root,
                        n1 = root,
                        n2 = root,
                        n3 = root,
                        n4 = root,
                        n5 = root,
                        n6 = root,
                        n7 = root;
                    if (anyMissing)
                    {
                        for (int d = 0; d < depth; d++)
                        {
                            n0 = Step(nodes, n0, x0);
                            n1 = Step(nodes, n1, x0 + f);
                            n2 = Step(nodes, n2, x0 + 2 * f);
                            n3 = Step(nodes, n3, x0 + 3 * f);
                            n4 = Step(nodes, n4, x0 + 4 * f);
                            n5 = Step(nodes, n5, x0 + 5 * f);
                            n6 = Step(nodes, n6, x0 + 6 * f);
                            n7 = Step(nodes, n7, x0 + 7 * f);
                        }
                    }
                    else
                    {
                        for (int d = 0; d < depth; d++)
                        {
                            n0 = StepNoMissing(nodes, n0, x0);
                            n1 = StepNoMissing(nodes, n1, x0 + f);
                            n2 = StepNoMissing(nodes, n2, x0 + 2 * f);
                            n3 = StepNoMissing(nodes, n3, x0 + 3 * f);
                            n4 = StepNoMissing(nodes, n4, x0 + 4 * f);
                            n5 = StepNoMissing(nodes, n5, x0 + 5 * f);
                            n6 = StepNoMissing(nodes, n6, x0 + 6 * f);
                            n7 = StepNoMissing(nodes, n7, x0 + 7 * f);
                        }
                    }
                    double* o = outp + r * k + c;
                    o[0] += values[n0];
                    o[k] += values[n1];
                    o[2 * k] += values[n2];
                    o[3 * k] += values[n3];
                    o[4 * k] += values[n4];
                    o[5 * k] += values[n5];
                    o[6 * k] += values[n6];
                    o[7 * k] += values[n7];
                }
                for (; r < rows; r++)
                {
                    int n0 = root;
                    for (int d = 0; d < depth; d++)
                        n0 = Step(nodes, n0, x + r * f);
                    outp[r * k + c] += values[n0];
                }
            }
        }
    }

    private static bool HasNaN(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
            if (float.IsNaN(v))
                return true;
        return false;
    }

    /// <summary>The step for rows known to have no missing values.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe int StepNoMissing(Node* nodes, int n, float* x)
    {
        Node* nd = nodes + n;
        float v = x[nd->Feature & int.MaxValue];
        return (&nd->Left)[v <= nd->Threshold ? 0 : 1];
    }

    /// <summary>One branch-free step: left when value ≤ threshold, or when missing and the node sends missing
    /// left.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe int Step(Node* nodes, int n, float* x)
    {
        Node* nd = nodes + n;
        int fi = nd->Feature;
        float v = x[fi & int.MaxValue];
        int goLeft = (v <= nd->Threshold ? 1 : 0) | ((fi >>> 31) & (float.IsNaN(v) ? 1 : 0));
        return (&nd->Left)[1 - goLeft];
    }

    /// <summary>Total split gain per feature (gain importance).</summary>
    public double[] GainByFeature()
    {
        var g = new double[FeatureCount];
        foreach (var t in Trees)
            for (int i = 0; i < t.NodeCount; i++)
                g[t.Feature[i]] += t.Gain[i];
        return g;
    }
}
