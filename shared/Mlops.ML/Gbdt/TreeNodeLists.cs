namespace Mlops.ML.Gbdt;

/// <summary>
/// A <see cref="RegressionTree"/>'s nodes while a converter builds it from another library's tree (LightGBM's model
/// text, Microsoft.ML's trees): the other library's nodes keep their indices, and category-set tests are appended as
/// threshold chains (<see cref="AddCategoryChain"/>), the one form our trees, ONNX export and TreeSHAP know.
/// </summary>
internal sealed class TreeNodeLists
{
    public readonly List<int> Feature,
        Left,
        Right;
    public readonly List<float> Threshold;
    public readonly List<bool> DefaultLeft;
    public readonly List<double> Gain;

    /// <summary>Room for <paramref name="count"/> nodes, set later with <see cref="Set"/>.</summary>
    public TreeNodeLists(int count)
    {
        Feature = [.. new int[count]];
        Left = [.. new int[count]];
        Right = [.. new int[count]];
        Threshold = [.. new float[count]];
        DefaultLeft = [.. new bool[count]];
        Gain = [.. new double[count]];
    }

    /// <summary>Appends an empty node; returns its index.</summary>
    public int Add()
    {
        Feature.Add(0);
        Left.Add(0);
        Right.Add(0);
        Threshold.Add(0);
        DefaultLeft.Add(false);
        Gain.Add(0);
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

    /// <summary>
    /// A category-set test as threshold tests on the (integer) category code, one pair per run of consecutive codes
    /// [a, b]: code ≤ a − ½ → outside; else code ≤ b + ½ → inside; else the next run (outside after the last). Missing
    /// codes go outside at the first test. <paramref name="head"/> keeps its index so its parent's link stays valid.
    /// </summary>
    public void AddCategoryChain(int head, int feature, IEnumerable<int> codes, int inside, int outside, double gain)
    {
        var runs = new List<(int From, int To)>();
        foreach (int c in codes.Order())
            if (runs.Count > 0 && runs[^1].To == c - 1)
                runs[^1] = (runs[^1].From, c);
            else
                runs.Add((c, c));
        if (runs.Count == 0)
        {
            Set(head, feature, float.PositiveInfinity, true, outside, outside, gain);
            return;
        }
        int low = head;
        for (int r = 0; r < runs.Count; r++)
        {
            int high = Add();
            int next = r + 1 < runs.Count ? Add() : outside;
            // A missing code reaches only the first test, which sends it outside; the later tests never see one.
            Set(low, feature, runs[r].From - 0.5f, true, outside, high, r == 0 ? gain : 0);
            Set(high, feature, runs[r].To + 0.5f, true, inside, next, 0);
            low = next;
        }
    }

    /// <summary>The finished tree.</summary>
    public RegressionTree ToTree(int classIndex, double[] leafValue) =>
        new(
            classIndex,
            Feature.ToArray(),
            Threshold.ToArray(),
            DefaultLeft.ToArray(),
            Left.ToArray(),
            Right.ToArray(),
            Gain.ToArray(),
            leafValue
        );
}
