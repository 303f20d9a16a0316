namespace Mlops.ML.MlNet;

/// <summary>
/// Where each of our features sits in the vector ML.NET sees: a numeric feature is one slot; a categorical feature
/// (<see cref="CategorySlots"/> &gt; 0: known categories + "other") is a one-hot block of that many slots, all zero
/// when the category is missing.
/// </summary>
internal sealed class SlotLayout
{
    private readonly int[] _start;

    public SlotLayout(int[] categorySlots)
    {
        CategorySlots = categorySlots;
        _start = new int[categorySlots.Length];
        int at = 0;
        for (int f = 0; f < categorySlots.Length; f++)
        {
            _start[f] = at;
            at += Math.Max(1, categorySlots[f]);
        }
        Width = at;
    }

    /// <summary>Numeric features only: slot i is feature i.</summary>
    public static SlotLayout Plain(int width) => new(new int[width]);

    /// <summary>Per feature: 0 for numeric, else the number of one-hot slots.</summary>
    public int[] CategorySlots { get; }

    /// <summary>Slots in ML.NET's vector.</summary>
    public int Width { get; }

    public bool IsCategorical(int feature) => CategorySlots[feature] > 0;

    public int Start(int feature) => _start[feature];

    /// <summary>The feature a slot belongs to.</summary>
    public int FeatureOfSlot(int slot)
    {
        int i = Array.BinarySearch(_start, slot);
        return i >= 0 ? i : ~i - 1;
    }

    /// <summary>One row in ML.NET's layout.</summary>
    public float[] Expand(ReadOnlySpan<float> row)
    {
        var result = new float[Width];
        for (int f = 0; f < row.Length; f++)
        {
            int slots = CategorySlots[f];
            if (slots == 0)
            {
                result[_start[f]] = row[f];
                continue;
            }
            float code = row[f];
            if (!float.IsNaN(code))
                result[_start[f] + Math.Clamp((int)code, 0, slots - 1)] = 1;
        }
        return result;
    }

    /// <summary>The <c>CategoricalSlotRanges</c> annotation: inclusive [first, last] slot pairs of the categorical
    /// blocks.</summary>
    public int[] CategoricalRanges()
    {
        var ranges = new List<int>();
        for (int f = 0; f < CategorySlots.Length; f++)
            if (CategorySlots[f] > 0)
            {
                ranges.Add(_start[f]);
                ranges.Add(_start[f] + CategorySlots[f] - 1);
            }
        return ranges.ToArray();
    }
}
