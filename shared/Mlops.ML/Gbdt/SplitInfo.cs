namespace Mlops.ML.Gbdt;

/// <summary>The best split found for one leaf: rows with bin in 1..<see cref="Bin"/> go left, missing rows follow <see
/// cref="DefaultLeft"/>.</summary>
internal struct SplitInfo
{
    /// <summary>Feature index, or -1 when the leaf cannot be split.</summary>
    public int Feature;

    /// <summary>Last value bin that goes left.</summary>
    public int Bin;
    public bool DefaultLeft;

    /// <summary>Loss reduction; splits are ranked by it (ties keep the lower feature and bin, so runs are
    /// deterministic).</summary>
    public double Gain;
    public double LeftG,
        LeftH,
        RightG,
        RightH;
    public int LeftCount,
        RightCount;

    public static SplitInfo None => new() { Feature = -1, Gain = double.NegativeInfinity };
    public readonly bool IsValid => Feature >= 0;
}

/// <summary>Running gradient statistics of a leaf.</summary>
internal struct LeafStats
{
    public int Begin,
        Count,
        Depth,
        ParentNode;
    public bool IsLeftChild;
    public double SumG,
        SumH;
    public double[]? Histogram;
    public SplitInfo Best;
}
