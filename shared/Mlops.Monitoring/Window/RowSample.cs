namespace Mlops.Monitoring.Window;

/// <summary>
/// A fixed-size, order-independent sample of a window's logged input rows (raw JSON): every row gets a pseudo-random
/// key from its log line's bytes and its index in the line, and the sample keeps the rows with the smallest keys
/// ("bottom-k"). Merging two samples keeps the bottom k of their union, so the parallel readers' partial samples
/// combine into exactly the sample a single reader would take — the same rows however the log was split.
/// </summary>
internal sealed class RowSample(int capacity)
{
    // A max-heap on the key: the root is the largest kept key, the first to go when a smaller one arrives.
    private readonly PriorityQueue<string, ulong> _heap = new(Comparer<ulong>.Create((a, b) => b.CompareTo(a)));

    public int Capacity { get; } = capacity;

    /// <summary>Key of row <paramref name="index"/> of a log line whose bytes hash to <paramref
    /// name="lineHash"/>.</summary>
    public static ulong Key(ulong lineHash, int index)
    {
        // SplitMix64's finalizer: consecutive indexes of one line land far apart.
        ulong z = lineHash + 0x9E3779B97F4A7C15UL * (ulong)(index + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>64-bit FNV-1a of a log line: two requests differ at least in time or ids, so their rows get different
    /// keys.</summary>
    public static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in bytes)
            h = (h ^ b) * 1099511628211UL;
        return h;
    }

    /// <summary>Whether a row with <paramref name="key"/> would be kept (so its text is only made then).</summary>
    public bool Wants(ulong key) =>
        _heap.Count < Capacity || (_heap.TryPeek(out _, out ulong largest) && key < largest);

    public void Offer(ulong key, string row)
    {
        if (_heap.Count < Capacity)
            _heap.Enqueue(row, key);
        else if (Wants(key))
            _heap.EnqueueDequeue(row, key);
    }

    public void Merge(RowSample other)
    {
        foreach (var (row, key) in other._heap.UnorderedItems)
            Offer(key, row);
    }

    /// <summary>The kept rows, by key (a stable order for a given log).</summary>
    public IReadOnlyList<string> Rows() =>
        _heap.UnorderedItems.OrderBy(x => x.Priority).Select(x => x.Element).ToList();
}
