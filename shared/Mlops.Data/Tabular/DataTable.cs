namespace Mlops.Data.Tabular;

/// <summary>The logical type inferred for a column. Drives featurization, validation and drift tests.</summary>
public enum ColumnKind
{
    /// <summary>Floating-point or integer values; stored in <see cref="Column.Numbers"/> (NaN = missing).</summary>
    Numeric,

    /// <summary>A small set of repeated string values; stored in <see cref="Column.Strings"/> (null =
    /// missing).</summary>
    Categorical,

    /// <summary>true/false (also 0/1 text when declared); stored in <see cref="Column.Numbers"/> as 0/1 (NaN =
    /// missing).</summary>
    Boolean,

    /// <summary>Free text with mostly unique values; stored in <see cref="Column.Strings"/>.</summary>
    Text,

    /// <summary>ISO-8601 dates/times; stored in <see cref="Column.Numbers"/> as Unix seconds (NaN = missing) and the
    /// raw text in <see cref="Column.Strings"/>.</summary>
    DateTime,
}

/// <summary>
/// One column of a <see cref="DataTable"/>. Columnar storage keeps training and statistics cache-friendly:
/// numeric-like kinds use a dense <c>double[]</c> with NaN for missing, string-like kinds a <c>string?[]</c> with null
/// for missing.
/// </summary>
public sealed class Column
{
    public Column(string name, ColumnKind kind, double[]? numbers, string?[]? strings)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kind = kind;
        Numbers = numbers;
        Strings = strings;
        if (numbers is null && strings is null)
            throw new ArgumentException("A column needs numbers or strings.", nameof(numbers));
        if (numbers is not null && strings is not null && numbers.Length != strings.Length)
            throw new ArgumentException("numbers and strings must have the same length.", nameof(strings));
    }

    public string Name { get; }
    public ColumnKind Kind { get; }

    /// <summary>Values for Numeric, Boolean and DateTime columns; NaN marks a missing value.</summary>
    public double[]? Numbers { get; }

    /// <summary>Values for Categorical and Text columns (and raw DateTime text); null marks a missing value.</summary>
    public string?[]? Strings { get; }

    public int Length => Numbers?.Length ?? Strings!.Length;

    public bool IsNumericLike => Kind is ColumnKind.Numeric or ColumnKind.Boolean or ColumnKind.DateTime;

    public bool IsMissing(int row) =>
        Numbers is not null && IsNumericLike ? double.IsNaN(Numbers[row]) : Strings![row] is null;

    public static Column Numeric(string name, double[] values) => new(name, ColumnKind.Numeric, values, null);

    public static Column Categorical(string name, string?[] values) => new(name, ColumnKind.Categorical, null, values);
}

/// <summary>
/// An in-memory columnar table with a fixed row count. Produced by the CSV reader, consumed by profiling,
/// validation, drift statistics, featurization and training. Immutable by convention: operations return new tables.
/// </summary>
public sealed class DataTable
{
    private readonly Dictionary<string, int> _index;

    public DataTable(IReadOnlyList<Column> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        Columns = columns;
        RowCount = columns.Count == 0 ? 0 : columns[0].Length;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Count; i++)
        {
            if (columns[i].Length != RowCount)
                throw new ArgumentException(
                    $"Column '{columns[i].Name}' has {columns[i].Length} rows, expected {RowCount}."
                );
            if (!_index.TryAdd(columns[i].Name, i))
                throw new ArgumentException($"Duplicate column name '{columns[i].Name}'.");
        }
    }

    public IReadOnlyList<Column> Columns { get; }
    public int RowCount { get; }
    public IEnumerable<string> ColumnNames => Columns.Select(c => c.Name);

    public bool Contains(string name) => _index.ContainsKey(name);

    public Column this[string name] =>
        _index.TryGetValue(name, out var i)
            ? Columns[i]
            : throw new KeyNotFoundException($"Column '{name}' not found. Columns: {string.Join(", ", ColumnNames)}.");

    public Column? Find(string name) => _index.TryGetValue(name, out var i) ? Columns[i] : null;

    /// <summary>A new table with the rows at <paramref name="rows"/>, in that order (used for splits and
    /// sampling).</summary>
    public DataTable SelectRows(IReadOnlyList<int> rows)
    {
        var cols = new Column[Columns.Count];
        // Columns are independent gathers: in parallel when there is enough to gather (a train/test split of 1M rows).
        Parallel.For(
            0,
            Columns.Count,
            new ParallelOptions { MaxDegreeOfParallelism = rows.Count >= 50_000 ? -1 : 1 },
            k =>
            {
                var c = Columns[k];
                double[]? n = c.Numbers is null ? null : new double[rows.Count];
                string?[]? s = c.Strings is null ? null : new string?[rows.Count];
                for (int i = 0; i < rows.Count; i++)
                {
                    if (n is not null)
                        n[i] = c.Numbers![rows[i]];
                    if (s is not null)
                        s[i] = c.Strings![rows[i]];
                }
                cols[k] = new Column(c.Name, c.Kind, n, s);
            }
        );
        return new DataTable(cols);
    }

    /// <summary>A new table without the named columns (e.g. the label).</summary>
    public DataTable Without(params string[] names) => new(Columns.Where(c => !names.Contains(c.Name)).ToList());
}
