using System.Globalization;

namespace Mlops.Data.Tabular;

/// <summary>
/// Accumulates one column's values while a CSV is read and infers its <see cref="ColumnKind"/>.
/// A column starts optimistic as numbers (no strings kept, so a 1M-row numeric file costs 8 bytes a cell);
/// the first value that is not a number switches it to strings, converting the numbers read so far with
/// their shortest round-trip text. Strings are interned per column so repeated categories share one instance.
/// </summary>
internal sealed class ColumnBuilder
{
    private const int MaxInterned = 100_000;
    private readonly string _name;
    private readonly ColumnKind? _forced;
    private readonly CsvReaderOptions _options;
    private double[] _numbers;
    private string?[]? _strings;
    private int _count;
    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public ColumnBuilder(string name, ColumnKind? forced, CsvReaderOptions options, int capacity)
    {
        _name = name;
        _forced = forced;
        _options = options;
        _lookup = _pool.GetAlternateLookup<ReadOnlySpan<char>>();
        capacity = Math.Max(capacity, 16);
        if (forced is ColumnKind.Categorical or ColumnKind.Text or ColumnKind.DateTime or ColumnKind.Boolean)
        {
            _strings = new string?[capacity];
            _numbers = [];
        }
        else
        {
            _numbers = new double[capacity];
        }
    }

    public string Name => _name;

    /// <summary>Grows storage once to the expected row count (avoids repeated doubling on large files).</summary>
    public void EnsureCapacity(int rows)
    {
        if (_strings is null)
        {
            if (_numbers.Length < rows)
                Array.Resize(ref _numbers, rows);
        }
        else if (_strings.Length < rows)
            Array.Resize(ref _strings, rows);
    }

    /// <summary>Values added so far.</summary>
    public int Count => _count;

    /// <summary>The numeric-or-string state locked by a previous chunk's schema (streaming keeps kinds stable across
    /// chunks).</summary>
    public bool IsNumeric => _strings is null;

    public void Add(ReadOnlySpan<char> text, bool missing, long line, int column)
    {
        if (_strings is null)
        {
            if (_count == _numbers.Length)
                Array.Resize(ref _numbers, _numbers.Length * 2);
            if (missing)
            {
                _numbers[_count++] = double.NaN;
                return;
            }
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                _numbers[_count++] = v;
                return;
            }
            if (_forced == ColumnKind.Numeric)
                throw new CsvFormatException(
                    $"'{Truncate(text)}' is not a number (the column is numeric).",
                    line,
                    column,
                    _name
                );
            SwitchToStrings();
        }
        if (_count == _strings!.Length)
            Array.Resize(ref _strings, _strings.Length * 2);
        _strings[_count++] = missing ? null : Intern(text);
    }

    private static string Truncate(ReadOnlySpan<char> text) =>
        text.Length <= 40 ? new string(text) : new string(text[..40]) + "…";

    /// <summary>
    /// A builder over a column's values read elsewhere (the parallel reader's chunks), interned through this builder's
    /// pool as <see cref="Add"/> would so that <see cref="Build"/> infers the same kind.
    /// </summary>
    internal static ColumnBuilder FromStrings(
        string name,
        ColumnKind? forced,
        CsvReaderOptions options,
        string?[] strings
    )
    {
        var builder = new ColumnBuilder(name, forced, options, 0);
        for (int i = 0; i < strings.Length; i++)
        {
            if (strings[i] is not { } s)
                continue;
            if (builder._pool.TryGetValue(s, out var pooled))
                strings[i] = pooled;
            else if (builder._pool.Count < MaxInterned)
                builder._pool[s] = s;
        }
        builder._strings = strings;
        builder._numbers = [];
        builder._count = strings.Length;
        return builder;
    }

    private string Intern(ReadOnlySpan<char> text)
    {
        if (_lookup.TryGetValue(text, out var s))
            return s;
        s = new string(text);
        if (_pool.Count < MaxInterned)
            _pool[s] = s;
        return s;
    }

    private void SwitchToStrings()
    {
        var strings = new string?[Math.Max(_numbers.Length, 16)];
        for (int i = 0; i < _count; i++)
            strings[i] = double.IsNaN(_numbers[i])
                ? null
                : Intern(_numbers[i].ToString("R", CultureInfo.InvariantCulture));
        _strings = strings;
        _numbers = [];
    }

    /// <summary>Builds the column, inferring its kind unless forced (or fixed by <paramref name="lockedKind"/> from an
    /// earlier chunk).</summary>
    public Column Build(ColumnKind? lockedKind = null)
    {
        var kind = lockedKind ?? _forced;
        if (_strings is null)
        {
            // Trim in place and drop the builder's reference so a wide file never holds two copies of every column.
            var values = _numbers;
            if (values.Length != _count)
                Array.Resize(ref values, _count);
            _numbers = [];
            if (kind is ColumnKind.Categorical or ColumnKind.Text)
                return new Column(
                    _name,
                    kind.Value,
                    null,
                    values.Select(v => double.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture)).ToArray()
                );
            return new Column(
                _name,
                kind == ColumnKind.Boolean ? ColumnKind.Boolean : ColumnKind.Numeric,
                values,
                null
            );
        }
        var strings = _strings.AsSpan(0, _count).ToArray();
        kind ??= Infer(strings);
        switch (kind)
        {
            case ColumnKind.Boolean:
            {
                var n = new double[strings.Length];
                for (int i = 0; i < n.Length; i++)
                    n[i] =
                        strings[i] is null ? double.NaN
                        : TryParseBoolean(strings[i]!, out var b) ? (b ? 1 : 0)
                        : throw new CsvFormatException(
                            $"'{strings[i]}' is not true/false (the column is boolean).",
                            0,
                            null,
                            _name
                        );
                return new Column(_name, ColumnKind.Boolean, n, null);
            }
            case ColumnKind.DateTime:
            {
                var n = new double[strings.Length];
                for (int i = 0; i < n.Length; i++)
                    n[i] =
                        strings[i] is null ? double.NaN
                        : TryParseDateTime(strings[i]!, out var t) ? t
                        : throw new CsvFormatException(
                            $"'{strings[i]}' is not an ISO-8601 date/time (the column is a datetime).",
                            0,
                            null,
                            _name
                        );
                return new Column(_name, ColumnKind.DateTime, n, strings);
            }
            case ColumnKind.Numeric:
                throw new CsvFormatException("The column is declared numeric but holds text.", 0, null, _name);
            default:
                return new Column(_name, kind.Value, null, strings);
        }
    }

    private ColumnKind Infer(string?[] strings)
    {
        bool allBool = true,
            allDate = true;
        int nonMissing = 0;
        foreach (var s in strings)
        {
            if (s is null)
                continue;
            nonMissing++;
            if (allBool && !TryParseBoolean(s, out _))
                allBool = false;
            if (allDate && !TryParseDateTime(s, out _))
                allDate = false;
            if (!allBool && !allDate)
                break;
        }
        if (nonMissing > 0 && allBool)
            return ColumnKind.Boolean;
        if (nonMissing > 0 && allDate)
            return ColumnKind.DateTime;
        int distinct = _pool.Count >= MaxInterned ? int.MaxValue : CountDistinct(strings);
        bool categorical =
            distinct <= _options.MaxCategoricalCardinality
            && (distinct <= 20 || distinct <= _options.MaxCategoricalDistinctRatio * nonMissing);
        return categorical ? ColumnKind.Categorical : ColumnKind.Text;
    }

    private static int CountDistinct(string?[] strings)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in strings)
            if (s is not null)
                set.Add(s);
        return set.Count;
    }

    /// <summary>true/false in any letter case (the only boolean spelling inferred; 0/1 stays numeric unless
    /// declared).</summary>
    public static bool TryParseBoolean(ReadOnlySpan<char> s, out bool value)
    {
        if (s.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            value = true;
            return true;
        }
        if (s.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            value = false;
            return true;
        }
        if (s is "1")
        {
            value = true;
            return true;
        }
        if (s is "0")
        {
            value = false;
            return true;
        }
        value = false;
        return false;
    }

    /// <summary>ISO-8601 date or date-time (yyyy-MM-dd…), as Unix seconds; times without an offset are taken as
    /// UTC.</summary>
    public static bool TryParseDateTime(ReadOnlySpan<char> s, out double unixSeconds)
    {
        unixSeconds = double.NaN;
        if (s.Length < 10 || s[4] != '-' || s[7] != '-')
            return false;
        if (
            !DateTimeOffset.TryParse(
                s,
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
                out var dto
            )
        )
            return false;
        unixSeconds = (dto.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;
        return true;
    }
}
