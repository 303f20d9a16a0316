using Mlops.ML.Gbdt;

namespace Mlops.ML.Explain;

/// <summary>
/// Counts the training rows that reach every node and leaf of an ensemble's trees ("cover"), which TreeSHAP's
/// path-dependent value function needs. Every engine gets the same definition — rows of the data the trees were
/// fitted on, unweighted — so explanations do not depend on which engine trained the trees: our own GBDT counts its
/// binned training rows, the Microsoft.ML engines (LightGBM, FastForest) their featurized training matrix.
/// </summary>
internal static class TreeCover
{
    private const int Block = 8192;

    /// <summary>The ensemble with covers counted on <paramref name="data"/> (binned rows; trees carry their split
    /// bins).</summary>
    public static GbdtEnsemble FromBinned(GbdtEnsemble ensemble, BinnedDataset data)
    {
        return WithCounts(ensemble, data.RowCount, (tree, from, to, inner, leaves) =>
        {
            var bins = tree.ThresholdBin;
            for (int r = from; r < to; r++)
            {
                if (tree.NodeCount == 0)
                {
                    leaves[0]++;
                    continue;
                }
                int node = 0;
                long offset = (long)r * data.FeatureCount;
                while (node >= 0)
                {
                    inner[node]++;
                    byte b = data.Bins[offset + tree.Feature[node]];
                    bool left =
                        b == 0 ? tree.DefaultLeft[node]
                        : bins is not null ? b <= bins[node]
                        : throw new InvalidOperationException("The tree has no split bins.");
                    node = left ? tree.Left[node] : tree.Right[node];
                }
                leaves[~node]++;
            }
        });
    }

    /// <summary>The ensemble with covers counted on <paramref name="rows"/> row-major feature rows.</summary>
    public static GbdtEnsemble FromRows(GbdtEnsemble ensemble, float[] features, int rows)
    {
        int f = ensemble.FeatureCount;
        if (features.LongLength < (long)rows * f)
            throw new ArgumentException("The feature buffer is smaller than rows × features.", nameof(features));
        return WithCounts(ensemble, rows, (tree, from, to, inner, leaves) =>
        {
            for (int r = from; r < to; r++)
            {
                var x = features.AsSpan(r * f, f);
                if (tree.NodeCount == 0)
                {
                    leaves[0]++;
                    continue;
                }
                int node = 0;
                while (node >= 0)
                {
                    inner[node]++;
                    float v = x[tree.Feature[node]];
                    bool left = float.IsNaN(v) ? tree.DefaultLeft[node] : v <= tree.Threshold[node];
                    node = left ? tree.Left[node] : tree.Right[node];
                }
                leaves[~node]++;
            }
        });
    }

    private delegate void CountRows(RegressionTree tree, int from, int to, double[] inner, double[] leaves);

    // Trees in parallel (each owns its counters), rows in blocks inside: counts are integers, so the result is exact
    // and independent of the schedule.
    private static GbdtEnsemble WithCounts(GbdtEnsemble ensemble, int rows, CountRows count)
    {
        var trees = new RegressionTree[ensemble.Trees.Count];
        Parallel.For(0, trees.Length, t =>
        {
            var tree = ensemble.Trees[t];
            var inner = new double[tree.NodeCount];
            var leaves = new double[tree.LeafValue.Length];
            for (int from = 0; from < rows; from += Block)
                count(tree, from, Math.Min(rows, from + Block), inner, leaves);
            trees[t] = tree.WithCover(inner, leaves);
        });
        return new GbdtEnsemble(ensemble.OutputCount, ensemble.FeatureCount, ensemble.InitialScores, trees);
    }
}
