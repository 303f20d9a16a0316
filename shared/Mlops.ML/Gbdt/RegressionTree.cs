namespace Mlops.ML.Gbdt;

/// <summary>
/// One boosted tree. Internal node i tests <c>x[Feature[i]] ≤ Threshold[i]</c> (missing values follow <see
/// cref="DefaultLeft"/>); a child index ≥ 0 is another node, a negative child <c>c</c> is leaf <c>~c</c>. A tree with
/// no nodes is a single leaf. Immutable once built; thresholds are bin upper bounds, so binned and raw evaluation agree
/// exactly.
/// </summary>
public sealed class RegressionTree
{
    public RegressionTree(
        int classIndex,
        int[] feature,
        float[] threshold,
        bool[] defaultLeft,
        int[] left,
        int[] right,
        double[] gain,
        double[] leafValue,
        byte[]? thresholdBin = null,
        double[]? cover = null,
        double[]? leafCover = null
    )
    {
        if (cover is not null && cover.Length != feature.Length)
            throw new ArgumentException("cover needs one entry per node.", nameof(cover));
        if (leafCover is not null && leafCover.Length != leafValue.Length)
            throw new ArgumentException("leafCover needs one entry per leaf.", nameof(leafCover));
        if ((cover is null) != (leafCover is null))
            throw new ArgumentException("cover and leafCover come together.", nameof(cover));
        Cover = cover;
        LeafCover = leafCover;
        Class = classIndex;
        Feature = feature;
        Threshold = threshold;
        DefaultLeft = defaultLeft;
        Left = left;
        Right = right;
        Gain = gain;
        LeafValue = leafValue;
        ThresholdBin = thresholdBin;
    }

    /// <summary>The output (class) this tree adds to; 0 unless multiclass.</summary>
    public int Class { get; }
    public int[] Feature { get; }
    public float[] Threshold { get; }
    public bool[] DefaultLeft { get; }
    public int[] Left { get; }
    public int[] Right { get; }

    /// <summary>Loss reduction of each split (for gain importance).</summary>
    public double[] Gain { get; }

    /// <summary>Leaf outputs, learning rate already applied.</summary>
    public double[] LeafValue { get; }

    /// <summary>Split bins (training only; not saved).</summary>
    internal byte[]? ThresholdBin { get; }

    /// <summary>
    /// Training rows that reached each internal node (null for trees trained before explanations existed). With
    /// <see cref="LeafCover"/> it defines how TreeSHAP's path-dependent value function splits an unknown feature's
    /// weight between the two children (see <c>Mlops.ML.Explain.TreeShap</c>).
    /// </summary>
    public double[]? Cover { get; }

    /// <summary>Training rows that reached each leaf (null when <see cref="Cover"/> is).</summary>
    public double[]? LeafCover { get; }

    public int NodeCount => Feature.Length;

    /// <summary>The same tree with node and leaf covers (the split bins stay: training may still use them).</summary>
    public RegressionTree WithCover(double[] cover, double[] leafCover) =>
        new(Class, Feature, Threshold, DefaultLeft, Left, Right, Gain, LeafValue, ThresholdBin, cover, leafCover);

    /// <summary>Leaf reached by a row of raw feature values.</summary>
    public int GetLeaf(ReadOnlySpan<float> x)
    {
        if (Feature.Length == 0)
            return 0;
        int node = 0;
        while (node >= 0)
        {
            float v = x[Feature[node]];
            node = float.IsNaN(v)
                ? (DefaultLeft[node] ? Left[node] : Right[node])
                : (v <= Threshold[node] ? Left[node] : Right[node]);
        }
        return ~node;
    }

    /// <summary>Leaf reached by a binned row (training and validation data).</summary>
    internal int GetLeafBinned(BinnedDataset data, int row)
    {
        if (Feature.Length == 0)
            return 0;
        int node = 0;
        var tb = ThresholdBin!;
        var bins = data.Bins;
        long rowOffset = (long)row * data.FeatureCount;
        while (node >= 0)
        {
            byte b = bins[rowOffset + Feature[node]];
            node = b == 0 ? (DefaultLeft[node] ? Left[node] : Right[node]) : (b <= tb[node] ? Left[node] : Right[node]);
        }
        return ~node;
    }
}
