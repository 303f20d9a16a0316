using Mlops.Data.Tabular;

namespace Mlops.ML.OutOfCore;

/// <summary>
/// A seeded uniform sample of at most <c>capacity</c> rows from a stream of table chunks (Vitter's Algorithm R): row
/// i (0-based among the rows offered) replaces a random slot with probability capacity / (i + 1). While fewer rows than
/// the capacity have been offered it holds all of them in their original order, so a file that fits in the sample is
/// featurized and binned exactly as the in-memory trainer does it. Memory: capacity × columns values, whatever the file
/// size.
/// </summary>
internal sealed class RowReservoir(int capacity, int seed)
{
    private readonly Random _rng = new(seed);
    private string[]? _names;
    private ColumnKind[]? _kinds;
    private double[]?[]? _numbers;
    private string?[]?[]? _strings;
    private int _count;

    /// <summary>Rows offered so far.</summary>
    public long Seen { get; private set; }

    /// <summary>Offers row <paramref name="row"/> of <paramref name="chunk"/>; every chunk must have the first chunk's
    /// columns and kinds.</summary>
    public void Offer(DataTable chunk, int row)
    {
        if (_names is null)
            Allocate(chunk);
        int slot;
        if (_count < capacity)
            slot = _count++;
        else
        {
            long j = _rng.NextInt64(Seen + 1);
            slot = j < capacity ? (int)j : -1;
        }
        Seen++;
        if (slot < 0)
            return;
        for (int c = 0; c < _names!.Length; c++)
        {
            var column = chunk.Columns[c];
            if (_numbers![c] is { } nums)
                nums[slot] = column.Numbers![row];
            else
                _strings![c]![slot] = column.Strings![row];
        }
    }

    /// <summary>The sample as a table with the chunks' column names and kinds (null when no row was offered).</summary>
    public DataTable? ToTable()
    {
        if (_names is null || _count == 0)
            return null;
        var columns = new List<Column>(_names.Length);
        for (int c = 0; c < _names.Length; c++)
            columns.Add(
                _numbers![c] is { } nums
                    ? new Column(_names[c], _kinds![c], nums[.._count], null)
                    : new Column(_names[c], _kinds![c], null, _strings![c]![.._count])
            );
        return new DataTable(columns);
    }

    private void Allocate(DataTable chunk)
    {
        int n = chunk.Columns.Count;
        _names = chunk.Columns.Select(c => c.Name).ToArray();
        _kinds = chunk.Columns.Select(c => c.Kind).ToArray();
        _numbers = new double[]?[n];
        _strings = new string?[]?[n];
        for (int c = 0; c < n; c++)
        {
            // Numeric-like kinds are stored as numbers, categorical and text as strings (as the CSV reader builds
            // them).
            if (chunk.Columns[c].Numbers is not null)
                _numbers[c] = new double[capacity];
            else
                _strings[c] = new string?[capacity];
        }
    }
}
