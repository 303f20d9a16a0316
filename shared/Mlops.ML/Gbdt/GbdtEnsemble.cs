using System.Runtime.InteropServices;

namespace Mlops.ML.Gbdt;

/// <summary>
/// A trained boosted ensemble: raw score of output c = <see cref="InitialScores"/>[c] + the leaf values of the trees with
/// <see cref="RegressionTree.Class"/> c, added in tree order (the same order for one row and for a batch, so both give
/// bit-identical results). Immutable and thread-safe.
/// </summary>
public sealed class GbdtEnsemble : Models.IPredictor
{
    /// <summary>Packed node for cache-friendly prediction: 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Node
    {
        public float Threshold;
        public int Feature;
        public int Left;   // child when value ≤ threshold (or missing and DefaultLeft)
        public int Right;
    }

    private readonly Node[][] _nodes;
    private readonly double[][] _leaves;
    private readonly int[] _class;

    public GbdtEnsemble(int outputCount, int featureCount, double[] initialScores, IReadOnlyList<RegressionTree> trees)
    {
        OutputCount = outputCount;
        FeatureCount = featureCount;
        InitialScores = initialScores;
        Trees = trees;
        _nodes = new Node[trees.Count][];
        _leaves = new double[trees.Count][];
        _class = new int[trees.Count];
        for (int t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            var nodes = new Node[tree.NodeCount];
            for (int i = 0; i < nodes.Length; i++)
            {
                // Missing values are routed by encoding the default direction in the feature index's sign bit.
                nodes[i] = new Node { Threshold = tree.Threshold[i], Feature = tree.DefaultLeft[i] ? ~tree.Feature[i] : tree.Feature[i], Left = tree.Left[i], Right = tree.Right[i] };
            }
            _nodes[t] = nodes;
            _leaves[t] = tree.LeafValue;
            _class[t] = tree.Class;
        }
    }

    public int OutputCount { get; }
    public int FeatureCount { get; }
    public double[] InitialScores { get; }
    public IReadOnlyList<RegressionTree> Trees { get; }

    /// <summary>Adds raw scores for <paramref name="rows"/> row-major feature rows into <paramref name="raw"/> (rows × OutputCount), initial scores included.</summary>
    public void Predict(ReadOnlySpan<float> features, int rows, Span<double> raw)
    {
        int k = OutputCount, f = FeatureCount;
        for (int r = 0; r < rows; r++) for (int c = 0; c < k; c++) raw[r * k + c] = InitialScores[c];
        // Tree-major order keeps one tree's nodes in cache across the block.
        for (int t = 0; t < _nodes.Length; t++)
        {
            var nodes = _nodes[t];
            var leaves = _leaves[t];
            int c = _class[t];
            if (nodes.Length == 0)
            {
                for (int r = 0; r < rows; r++) raw[r * k + c] += leaves[0];
                continue;
            }
            for (int r = 0; r < rows; r++)
            {
                var x = features.Slice(r * f, f);
                int node = 0;
                do
                {
                    ref readonly Node nd = ref nodes[node];
                    int fi = nd.Feature;
                    float v = x[fi < 0 ? ~fi : fi];
                    node = float.IsNaN(v) ? (fi < 0 ? nd.Left : nd.Right) : (v <= nd.Threshold ? nd.Left : nd.Right);
                } while (node >= 0);
                raw[r * k + c] += leaves[~node];
            }
        }
    }

    /// <summary>Total split gain per feature (gain importance).</summary>
    public double[] GainByFeature()
    {
        var g = new double[FeatureCount];
        foreach (var t in Trees) for (int i = 0; i < t.NodeCount; i++) g[t.Feature[i]] += t.Gain[i];
        return g;
    }
}
