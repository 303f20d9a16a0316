using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Models;

namespace Mlops.Serving.Batch;

/// <summary>What one chunk produced, ready to be written.</summary>
/// <param name="Part">The part CSV: <c>row</c>, the copied columns, <c>prediction</c> and, for classifiers,
/// <c>probability_{class}</c>, then the explanation's columns when asked.</param>
/// <param name="Errors">Bad rows as CSV (<c>row,column,problem</c>, with the header), or null when every row was
/// scored.</param>
/// <param name="Rows">Rows scored.</param>
/// <param name="ErrorRows">Rows that could not be scored.</param>
/// <param name="Log">Prediction log lines (JSONL) when asked, else null.</param>
public sealed record ChunkOutcome(byte[] Part, byte[]? Errors, long Rows, long ErrorRows, byte[]? Log);

/// <summary>Where and how a chunk's predictions enter the prediction log.</summary>
/// <param name="Model">The model's registered name (recorded on each line).</param>
/// <param name="JobId">The job: prediction ids are <c>{jobId}:{row}</c>, and it is the request key of every
/// line.</param>
/// <param name="Version">The model version (recorded on each line).</param>
/// <param name="At">The time recorded on each line (the job's start: a re-run chunk writes the same lines).</param>
public sealed record ChunkLogContext(string Model, string JobId, int Version, DateTime At);

/// <summary>
/// Scores one chunk of an input: its bytes (whole records) after the input's header. A chunk without a bad value is
/// parsed by the table reader (in parallel, numbers parsed from bytes) with every model column's kind fixed to the
/// model's; a chunk where that reader stops at a bad value is read again record by record, so every bad row is named
/// in the errors (row number, column, problem) and every other row is still scored. Rows are numbered from the chunk's
/// first row: record k of the chunk is input row <c>firstRow + k</c> (blank lines keep their number and are skipped).
/// </summary>
public static class ChunkScorer
{
    /// <summary>Rows per prediction log line (a line is one logged "request").</summary>
    public const int LogRowsPerLine = 1000;

    /// <summary>Scores <paramref name="chunk"/>; never throws for bad rows (they are in the outcome's
    /// errors).</summary>
    public static ChunkOutcome Score(
        Model model,
        string headerLine,
        ReadOnlyMemory<byte> chunk,
        long firstRow,
        IReadOnlyList<string> copied,
        ChunkLogContext? log = null,
        bool explain = false
    )
    {
        ArgumentNullException.ThrowIfNull(headerLine);
        var header = HeaderBytes(headerLine);
        var buffer = new byte[header.Length + chunk.Length];
        header.CopyTo(buffer, 0);
        chunk.Span.CopyTo(buffer.AsSpan(header.Length));
        return Score(model, headerLine, buffer, header.Length, firstRow, copied, log, explain);
    }

    /// <summary>
    /// Scores a chunk already read after its header (<see cref="HeaderBytes"/>) in one buffer, as an activity reads it:
    /// the chunk is never copied.
    /// </summary>
    public static ChunkOutcome Score(
        Model model,
        string headerLine,
        byte[] headerAndChunk,
        int headerLength,
        long firstRow,
        IReadOnlyList<string> copied,
        ChunkLogContext? log = null,
        bool explain = false
    )
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(headerLine);
        ArgumentNullException.ThrowIfNull(headerAndChunk);
        ArgumentNullException.ThrowIfNull(copied);
        var header = BatchPlanner.ReadHeader(headerLine);
        var records = SplitRecords(headerAndChunk.AsSpan(headerLength));
        var scored = new List<int>(records.Count); // index into records of each scored row
        var errors = new ErrorWriter();
        var table = TryReadFast(model, header, headerAndChunk, copied, records, scored)
            ?? ReadRowByRow(model, header, headerAndChunk, headerLength, copied, records, firstRow, scored, errors);
        // The model's columns the input has (a column the model does not use may be absent; the header check saw to the
        // rest).
        var inputs = new DataTable(
            model.InputSchema.Where(c => table.Contains(c.Name)).Select(c => table[c.Name]).ToList()
        );
        PredictionBatch? predictions = scored.Count == 0 ? null : model.PredictBatch(inputs);
        // Explanations use the same featurized inputs as the predictions (rows in the same order).
        var explainer = explain ? ModelExplainer.For(model) : null;
        var explanations = explainer is null || predictions is null ? null : explainer.ExplainBatch(inputs);
        var part = WritePart(model, table, copied, scored, firstRow, predictions, explainer, explanations);
        byte[]? logLines =
            log is null || predictions is null ? null : WriteLog(model, inputs, scored, firstRow, predictions, log);
        return new ChunkOutcome(
            part,
            errors.Count == 0 ? null : errors.ToArray(),
            scored.Count,
            errors.Count,
            logLines
        );
    }

    /// <summary>The header record as the bytes put in front of every chunk (ending with a line feed).</summary>
    public static byte[] HeaderBytes(string headerLine) =>
        Encoding.UTF8.GetBytes(headerLine.EndsWith('\n') ? headerLine : headerLine + "\n");

    /// <summary>Each record's start and length (without its line end); a blank record has length 0.</summary>
    private static List<(int Start, int Length)> SplitRecords(ReadOnlySpan<byte> chunk)
    {
        var records = new List<(int, int)>(Math.Max(16, chunk.Length / 256));
        bool inQuotes = false;
        int pos = 0;
        while (pos < chunk.Length)
        {
            int end = CsvRecordBoundaries.FindRecordEnd(chunk[pos..], ref inQuotes);
            int stop = end < 0 ? chunk.Length : pos + end - 1; // at the line feed, or the chunk's end
            int length = stop - pos;
            if (length > 0 && chunk[pos + length - 1] == (byte)'\r')
                length--;
            records.Add((pos, length));
            if (end < 0)
                break;
            pos += end;
        }
        return records;
    }

    private static bool IsBlank((int Start, int Length) record) => record.Length == 0;

    /// <summary>The kinds the reader must give: the model's for its inputs, text for the copied columns (kept as
    /// written).</summary>
    private static Dictionary<string, ColumnKind> Kinds(Model model, IReadOnlyList<string> copied)
    {
        var kinds = new Dictionary<string, ColumnKind>(StringComparer.Ordinal);
        foreach (var c in copied)
            kinds[c] = ColumnKind.Text;
        foreach (var c in model.InputSchema)
            kinds[c.Name] = c.Kind;
        return kinds;
    }

    /// <summary>The whole chunk through the table reader, or null when a value does not fit (then rows are read one by
    /// one).</summary>
    private static DataTable? TryReadFast(
        Model model,
        string[] header,
        byte[] headerAndChunk,
        IReadOnlyList<string> copied,
        List<(int Start, int Length)> records,
        List<int> scored
    )
    {
        int nonBlank = records.Count(r => !IsBlank(r));
        if (nonBlank == 0)
            return null;
        DataTable table;
        try
        {
            table = CsvTableReader.Read(headerAndChunk, new CsvReaderOptions { ColumnKinds = Kinds(model, copied) });
        }
        catch (CsvFormatException)
        {
            return null;
        }
        // The reader skips blank lines like this scorer; any other difference in what counts as a row means the
        // row-by-row path must decide, so row numbers can never shift.
        if (table.RowCount != nonBlank || table.Columns.Count != header.Length)
            return null;
        for (int i = 0; i < records.Count; i++)
            if (!IsBlank(records[i]))
                scored.Add(i);
        return table;
    }

    /// <summary>Reads every record on its own: bad rows go to <paramref name="errors"/>, the others into a
    /// table.</summary>
    private static DataTable ReadRowByRow(
        Model model,
        string[] header,
        byte[] headerAndChunk,
        int headerLength,
        IReadOnlyList<string> copied,
        List<(int Start, int Length)> records,
        long firstRow,
        List<int> scored,
        ErrorWriter errors
    )
    {
        scored.Clear();
        var kinds = Kinds(model, copied);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < header.Length; i++)
            index[header[i]] = i;
        // The columns kept: model inputs present in the header, then copied ones not already kept.
        var kept = kinds.Keys.Where(index.ContainsKey).ToList();
        var numbers = kept.Select(name =>
                kinds[name] is ColumnKind.Numeric or ColumnKind.Boolean or ColumnKind.DateTime
                    ? new List<double>()
                    : null
            )
            .ToArray();
        var strings = kept.Select(name =>
                kinds[name] is ColumnKind.Numeric or ColumnKind.Boolean ? null : new List<string?>()
            )
            .ToArray();
        var rowNumbers = new double[kept.Count];
        var rowStrings = new string?[kept.Count];
        var options = new CsvReaderOptions { HasHeader = false };
        for (int r = 0; r < records.Count; r++)
        {
            var (start, length) = records[r];
            if (length == 0)
                continue;
            long row = firstRow + r;
            using var reader = new CsvRecordReader(
                new MemoryStream(headerAndChunk, headerLength + start, length, writable: false),
                options
            );
            try
            {
                if (!reader.Read())
                    continue;
            }
            catch (CsvFormatException e)
            {
                errors.Add(row, null, e.Message);
                continue;
            }
            catch (DecoderFallbackException)
            {
                errors.Add(row, null, "the record is not valid UTF-8 text");
                continue;
            }
            if (reader.FieldCount != header.Length)
            {
                errors.Add(row, null, $"the record has {reader.FieldCount} field(s); the header has {header.Length}");
                continue;
            }
            bool ok = true;
            for (int k = 0; k < kept.Count && ok; k++)
            {
                var text = reader.GetField(index[kept[k]]);
                ok = TryConvert(kinds[kept[k]], text, out rowNumbers[k], out rowStrings[k], out string? problem);
                if (!ok)
                    errors.Add(row, kept[k], problem!);
            }
            if (!ok)
                continue;
            for (int k = 0; k < kept.Count; k++)
            {
                numbers[k]?.Add(rowNumbers[k]);
                strings[k]?.Add(rowStrings[k]);
            }
            scored.Add(r);
        }
        return new DataTable(
            kept.Select((name, k) => new Column(name, kinds[name], numbers[k]?.ToArray(), strings[k]?.ToArray()))
                .ToList()
        );
    }

    /// <summary>One cell as the model's column kind wants it; false with the problem when it is not of that
    /// kind.</summary>
    private static bool TryConvert(
        ColumnKind kind,
        ReadOnlySpan<char> text,
        out double number,
        out string? str,
        out string? problem
    )
    {
        number = double.NaN;
        str = null;
        problem = null;
        if (text.IsEmpty)
            return true; // missing: the model treats it as missing
        switch (kind)
        {
            case ColumnKind.Numeric:
                if (TabularValues.TryParseNumber(text, out number))
                    return true;
                problem = $"'{Cut(text)}' is not a number";
                return false;
            case ColumnKind.Boolean:
                if (TabularValues.TryParseBoolean(text, out bool b))
                {
                    number = b ? 1 : 0;
                    return true;
                }
                problem = $"'{Cut(text)}' is not true/false";
                return false;
            case ColumnKind.DateTime:
                str = new string(text);
                if (TabularValues.TryParseDateTime(text, out number))
                    return true;
                problem = $"'{Cut(text)}' is not an ISO-8601 date";
                return false;
            default:
                str = new string(text);
                return true;
        }
    }

    private static string Cut(ReadOnlySpan<char> text) =>
        text.Length <= 40 ? new string(text) : new string(text[..40]) + "…";

    private static byte[] WritePart(
        Model model,
        DataTable table,
        IReadOnlyList<string> copied,
        List<int> scored,
        long firstRow,
        PredictionBatch? p,
        ModelExplainer? explainer,
        Explanation[]? explanations
    )
    {
        var w = new ArrayBufferWriter<byte>(
            Math.Max(1024, scored.Count * (32 + 8 * copied.Count + 20 * model.Classes.Count))
        );
        var line = new StringBuilder("row");
        foreach (var c in copied)
            line.Append(',').Append(Quote(c));
        line.Append(",prediction");
        bool regression = model.Task == MlTask.Regression;
        if (!regression)
            foreach (var c in model.Classes)
                line.Append(',').Append(Quote("probability_" + c));
        if (explainer is not null)
            foreach (var name in explainer.FlatNames)
                line.Append(',').Append(Quote(name));
        line.Append('\n');
        Encoding.UTF8.GetBytes(line.ToString(), w);
        var copiedColumns = copied.Select(c => table[c]).ToArray();
        // The batch's own labels (a binary model's threshold decides them, not the larger probability), as CSV bytes.
        var labels = model
            .Classes.Distinct()
            .ToDictionary(c => c, c => Encoding.UTF8.GetBytes(Quote(c)), StringComparer.Ordinal);
        int k = model.Classes.Count;
        for (int i = 0; i < scored.Count; i++)
        {
            WriteLong(w, firstRow + scored[i]);
            foreach (var column in copiedColumns)
            {
                Write(w, ","u8);
                WriteCell(w, column, i);
            }
            Write(w, ","u8);
            if (regression)
                WriteDouble(w, p!.Values[i]);
            else
            {
                var probabilities = p!.Probabilities!.AsSpan(i * k, k);
                Write(w, labels[p.Labels![i]!]);
                foreach (var v in probabilities)
                {
                    Write(w, ","u8);
                    WriteDouble(w, v);
                }
            }
            if (explanations is not null)
                foreach (var v in explanations[i].Flat())
                {
                    Write(w, ","u8);
                    WriteDouble(w, v);
                }
            Write(w, "\n"u8);
        }
        return w.WrittenSpan.ToArray();
    }

    private static void WriteCell(ArrayBufferWriter<byte> w, Column column, int row)
    {
        if (column.Strings is { } s)
        {
            if (s[row] is { } text)
                Encoding.UTF8.GetBytes(Quote(text), w);
        }
        else if (!double.IsNaN(column.Numbers![row]))
            WriteDouble(w, column.Numbers[row]);
    }

    private static void Write(ArrayBufferWriter<byte> w, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(w.GetSpan(bytes.Length));
        w.Advance(bytes.Length);
    }

    private static void WriteLong(ArrayBufferWriter<byte> w, long value)
    {
        var span = w.GetSpan(24);
        Utf8Formatter.TryFormat(value, span, out int n);
        w.Advance(n);
    }

    private static void WriteDouble(ArrayBufferWriter<byte> w, double value)
    {
        var span = w.GetSpan(32);
        value.TryFormat(span, out int n, "R", CultureInfo.InvariantCulture);
        w.Advance(n);
    }

    /// <summary>A CSV field: quoted when it holds a delimiter, a quote or a line break.</summary>
    internal static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>
    /// Log lines in the prediction log's shape (one per <see cref="LogRowsPerLine"/> rows): <c>ids</c> are
    /// <c>{jobId}:{row}</c> so feedback can name a batch row, <c>inputs</c> hold the model's columns.
    /// </summary>
    private static byte[] WriteLog(
        Model model,
        DataTable inputs,
        List<int> scored,
        long firstRow,
        PredictionBatch p,
        ChunkLogContext log
    )
    {
        var signature = new MlServableModel(model).Signature;
        var buffer = new ArrayBufferWriter<byte>();
        using var w = new Utf8JsonWriter(buffer);
        int k = model.Classes.Count;
        bool regression = model.Task == MlTask.Regression;
        for (int start = 0; start < scored.Count; start += LogRowsPerLine)
        {
            int count = Math.Min(LogRowsPerLine, scored.Count - start);
            w.Reset(buffer);
            w.WriteStartObject();
            w.WriteString("at", log.At);
            w.WriteString("model", log.Model);
            w.WriteNumber("version", log.Version);
            w.WriteBoolean("shadow", false);
            w.WriteString("requestKey", log.JobId);
            w.WriteNumber("latencyMs", 0);
            w.WriteStartArray("ids");
            for (int i = start; i < start + count; i++)
                w.WriteStringValue($"{log.JobId}:{firstRow + scored[i]}");
            w.WriteEndArray();
            w.WriteStartArray("inputs");
            for (int i = start; i < start + count; i++)
            {
                w.WriteStartObject();
                foreach (var column in inputs.Columns)
                {
                    if (column.Strings is { } s && column.Kind is not ColumnKind.DateTime)
                    {
                        if (s[i] is null)
                            w.WriteNull(column.Name);
                        else
                            w.WriteString(column.Name, s[i]);
                    }
                    else if (column.Kind == ColumnKind.DateTime)
                    {
                        if (column.Strings?[i] is { } d)
                            w.WriteString(column.Name, d);
                        else
                            w.WriteNull(column.Name);
                    }
                    else if (column.Kind == ColumnKind.Boolean)
                    {
                        double v = column.Numbers![i];
                        if (double.IsNaN(v))
                            w.WriteNull(column.Name);
                        else
                            w.WriteBoolean(column.Name, v != 0);
                    }
                    else
                    {
                        double v = column.Numbers![i];
                        if (double.IsFinite(v))
                            w.WriteNumber(column.Name, v);
                        else
                            w.WriteNull(column.Name);
                    }
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            var predictions = new Prediction[count];
            for (int i = 0; i < count; i++)
            {
                int row = start + i;
                predictions[i] = regression
                    ? Prediction.Regression(p.Values[row])
                    : Prediction.Class(p.Labels![row]!, p.Probabilities!.AsSpan(row * k, k).ToArray());
            }
            w.WritePropertyName("outputs");
            PredictionJson.WritePredictions(w, signature, predictions);
            w.WriteEndObject();
            w.Flush();
            buffer.Write("\n"u8);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The chunk's bad rows as CSV.</summary>
    private sealed class ErrorWriter
    {
        private readonly StringBuilder _csv = new("row,column,problem\n");

        public int Count { get; private set; }

        public void Add(long row, string? column, string problem)
        {
            Count++;
            _csv.Append(row.ToString(CultureInfo.InvariantCulture))
                .Append(',')
                .Append(column is null ? "" : Quote(column))
                .Append(',')
                .Append(Quote(problem))
                .Append('\n');
        }

        public byte[] ToArray() => Encoding.UTF8.GetBytes(_csv.ToString());
    }
}
