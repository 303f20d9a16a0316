using System.Buffers;
using System.Text;
using System.Text.Json;
using Mlops.Core.Statistics;
using Mlops.Data.Tabular;
using Mlops.Monitoring.Reference;

namespace Mlops.Monitoring.Window;

/// <summary>
/// Reads prediction-log lines (<c>{"at","model","version","shadow",…,"ids":[…],"inputs":[{…}],"outputs":[{…}]}</c>, as
/// <c>Mlops.Serving.PredictionLogAndShadowRunner</c> writes them) with a forward-only <see cref="Utf8JsonReader"/>
/// straight into a
/// <see cref="WindowAccumulator"/>: no document tree and, for rows whose columns arrive in model order, no string per
/// value. Lines outside the window, shadow lines and lines of other versions are skipped.
/// </summary>
internal sealed class LogLineParser
{
    private readonly ReferenceProfile _reference;
    private readonly DateTimeOffset _from,
        _to;
    private readonly int? _version;
    private readonly IReadOnlySet<string>? _labeledIds;
    private readonly byte[][] _names;
    private readonly Dictionary<string, int> _index;
    private readonly bool _classification;
    private List<string?> _ids = [];

    // Raw JSON of the input rows whose ids have labels (per line), so feedback can become training rows.
    private Dictionary<int, string> _joinedRows = [];

    // Scratch for names and category values (per parser; each thread has its own clone).
    private char[] _chars = new char[256];

    public LogLineParser(
        ReferenceProfile reference,
        DateTimeOffset from,
        DateTimeOffset to,
        int? version,
        IReadOnlySet<string>? labeledIds
    )
    {
        _reference = reference;
        _from = from;
        _to = to;
        _version = version;
        _labeledIds = labeledIds is { Count: > 0 } ? labeledIds : null;
        _names = reference.Features.Select(f => Encoding.UTF8.GetBytes(f.Name)).ToArray();
        _index = reference
            .Features.Select((f, i) => (f.Name, i))
            .ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        _classification = reference.ParsedTask != ML.MlTask.Regression;
    }

    /// <summary>A parser with the same settings and its own per-line scratch state (one per thread).</summary>
    public LogLineParser Clone()
    {
        var copy = (LogLineParser)MemberwiseClone();
        copy._ids = [];
        copy._joinedRows = [];
        copy._chars = new char[256];
        return copy;
    }

    /// <summary>Adds one line (without its newline) to <paramref name="acc"/>; malformed lines are counted and
    /// skipped.</summary>
    public void Parse(ReadOnlySpan<byte> line, WindowAccumulator acc, ref long malformed)
    {
        if (line.IsEmpty)
            return;
        var reader = new Utf8JsonReader(line, isFinalBlock: true, state: default);
        try
        {
            ParseLine(ref reader, line, acc);
        }
        catch (JsonException)
        {
            malformed++;
        }
    }

    private void ParseLine(ref Utf8JsonReader r, ReadOnlySpan<byte> line, WindowAccumulator acc)
    {
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            throw new JsonException("not an object");
        _ids.Clear();
        _joinedRows.Clear();
        long rowsBefore = acc.Rows;
        int version = 0;
        DateTimeOffset at = default;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("at"u8))
            {
                r.Read();
                at = r.GetDateTimeOffset();
                if (at < _from || at >= _to)
                    return;
            }
            else if (r.ValueTextEquals("version"u8))
            {
                r.Read();
                version = r.GetInt32();
                if (_version is { } v && v != version)
                    return;
            }
            else if (r.ValueTextEquals("shadow"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.True)
                    return;
            }
            else if (r.ValueTextEquals("ids"u8))
            {
                r.Read();
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                    _ids.Add(r.TokenType == JsonTokenType.String ? r.GetString() : null);
            }
            else if (r.ValueTextEquals("inputs"u8))
            {
                r.Read();
                if (r.TokenType != JsonTokenType.StartArray)
                    throw new JsonException("inputs is not an array");
                int index = 0;
                ulong lineHash = acc.Sample is null ? 0 : RowSample.Hash(line);
                while (r.Read() && r.TokenType == JsonTokenType.StartObject)
                {
                    long start = r.TokenStartIndex;
                    ParseRow(ref r, acc);
                    if (IsJoined(index))
                        _joinedRows[index] = Encoding.UTF8.GetString(line[(int)start..(int)r.BytesConsumed]);
                    if (acc.Sample is { } sample && RowSample.Key(lineHash, index) is var key && sample.Wants(key))
                        sample.Offer(key, Encoding.UTF8.GetString(line[(int)start..(int)r.BytesConsumed]));
                    index++;
                }
            }
            else if (r.ValueTextEquals("outputs"u8))
            {
                r.Read();
                int i = 0;
                while (r.Read() && r.TokenType == JsonTokenType.StartObject)
                    ParseOutput(ref r, acc, i++);
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }
        long rows = acc.Rows - rowsBefore;
        if (rows == 0)
            return;
        acc.Lines++;
        acc.Versions[version] = acc.Versions.GetValueOrDefault(version) + rows;
        if (_ids.Count < rows)
            acc.RowsWithoutId += rows - _ids.Count;
        if (acc.First is null || at < acc.First)
            acc.First = at;
        if (acc.Last is null || at > acc.Last)
            acc.Last = at;
    }

    private void ParseRow(ref Utf8JsonReader r, WindowAccumulator acc)
    {
        acc.Rows++;
        int expected = 0;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            int col;
            // Rows usually list columns in model order: try the next expected name before a lookup.
            if (expected < _names.Length && r.ValueTextEquals(_names[expected]))
                col = expected;
            else
                col = Lookup(ref r, acc);
            r.Read();
            if (col < 0)
            {
                r.Skip();
                continue;
            }
            expected = col + 1;
            AddValue(ref r, acc.Columns[col]);
        }
    }

    private int Lookup(ref Utf8JsonReader r, WindowAccumulator acc)
    {
        var name = Text(ref r);
        if (_index.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out int i))
            return i;
        // Columns the model does not know: counted by name (a bounded number of names, so a bad client cannot grow it).
        var unknown = acc.UnknownColumns.GetAlternateLookup<ReadOnlySpan<char>>();
        if (unknown.TryGetValue(name, out long seen))
            unknown[name] = seen + 1;
        else if (acc.UnknownColumns.Count < 100)
            unknown[name] = 1;
        return -1;
    }

    private void AddValue(ref Utf8JsonReader r, ColumnAccumulator c)
    {
        c.Present++;
        switch (r.TokenType)
        {
            case JsonTokenType.Null:
                c.Nulls++;
                return;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                c.TypeErrors++;
                r.Skip();
                return;
        }
        if (c.Numbers is not null)
        {
            if (r.TokenType == JsonTokenType.Number)
                c.Numbers.Add(r.GetDouble());
            else if (r.TokenType is JsonTokenType.True or JsonTokenType.False)
                c.Numbers.Add(r.TokenType == JsonTokenType.True ? 1 : 0);
            else if (r.TokenType == JsonTokenType.String && ParseNumberLike(Text(ref r), out double v))
                c.Numbers.Add(v);
            else
                c.TypeErrors++;
            return;
        }
        if (r.TokenType == JsonTokenType.String)
            c.AddCategory(Text(ref r));
        else if (r.TokenType is JsonTokenType.True or JsonTokenType.False)
            c.AddCategory(r.TokenType == JsonTokenType.True ? "true" : "false");
        else if (r.TokenType == JsonTokenType.Number)
            c.AddCategory(SortedValues.NumberKey(r.GetDouble()));
        else
            c.TypeErrors++;
    }

    private ReadOnlySpan<char> Text(ref Utf8JsonReader r)
    {
        // Unescaping never lengthens a value, so the escaped length bounds the buffer needed.
        if (r.ValueSpan.Length > _chars.Length)
            return r.GetString();
        int n = r.CopyString(_chars);
        return _chars.AsSpan(0, n);
    }

    private static bool ParseNumberLike(ReadOnlySpan<char> s, out double v) =>
        TabularValues.TryParseNumber(s, out v)
        || TabularValues.TryParseDateTime(s, out v)
        || (TabularValues.TryParseBoolean(s, out bool b) && (v = b ? 1 : 0) >= 0);

    private void ParseOutput(ref Utf8JsonReader r, WindowAccumulator acc, int row)
    {
        string? label = null;
        double score = double.NaN;
        double[]? probs = null;
        bool joined = IsJoined(row);
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("value"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Number)
                    score = r.GetDouble();
            }
            else if (r.ValueTextEquals("label"u8))
            {
                r.Read();
                label = r.TokenType == JsonTokenType.String ? r.GetString() : null;
            }
            else if (r.ValueTextEquals("probabilities"u8))
            {
                r.Read();
                probs = ReadProbabilities(ref r, ref score, joined);
            }
            else
            {
                r.Read();
                r.Skip();
            }
        }
        acc.Score.Present++;
        if (double.IsNaN(score))
            acc.Score.Nulls++;
        else
            acc.Score.Numbers!.Add(score);
        if (_classification)
        {
            acc.PredictedLabels.Present++;
            if (label is null)
                acc.PredictedLabels.Nulls++;
            else
                acc.PredictedLabels.AddCategory(label);
        }
        if (joined)
            acc.Labeled.Add(new LabeledPrediction(_ids[row]!, score, label, probs, _joinedRows.GetValueOrDefault(row)));
    }

    private bool IsJoined(int row) =>
        _labeledIds is not null && row < _ids.Count && _ids[row] is { } id && _labeledIds.Contains(id);

    // Binary: the score is the positive class's probability; multiclass: the largest. Keeps the vector only for joined
    // rows.
    private double[]? ReadProbabilities(ref Utf8JsonReader r, ref double score, bool keep)
    {
        var classes = _reference.Classes;
        double[]? probs = keep ? new double[classes.Count] : null;
        double best = double.NaN;
        int k = 0;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            // Probabilities are written in class order; fall back to a name search otherwise.
            int cls = k < classes.Count && r.ValueTextEquals(classes[k]) ? k : IndexOfClass(ref r, classes);
            r.Read();
            double p = r.TokenType == JsonTokenType.Number ? r.GetDouble() : double.NaN;
            if (cls >= 0)
            {
                if (probs is not null)
                    probs[cls] = p;
                if (classes.Count == 2 ? cls == classes.Count - 1 : !(p <= best))
                    best = p;
            }
            k = cls + 1;
        }
        score = best;
        return probs;
    }

    private static int IndexOfClass(ref Utf8JsonReader r, IReadOnlyList<string> classes)
    {
        for (int i = 0; i < classes.Count; i++)
            if (r.ValueTextEquals(classes[i]))
                return i;
        return -1;
    }
}
