using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace Mlops.Data.Tabular;

/// <summary>
/// Parses CSV bytes already in memory (an array or a memory-mapped file) on every core: the record boundaries of
/// roughly equal chunks are found once by a quote-aware scan (a line break only ends a record outside quotes), every
/// chunk counts its line breaks to know where its rows start, then the chunks are parsed at the same time straight
/// into the table's column arrays.
/// <para>
/// It gives the serial <see cref="CsvTableReader"/>'s table or nothing: anything the fast path does not handle the
/// same way (another encoding's byte-order mark, no header, invalid UTF-8, a malformed record, a record over the
/// length limit, no data rows) makes it return null, and the caller reads the input with the serial reader, which
/// then reports the problem with its line and column exactly as before.
/// </para>
/// </summary>
internal static unsafe class ParallelCsvParser
{
    /// <summary>Bytes per chunk: large enough that a chunk's fixed costs vanish, small enough to balance two busy
    /// cores.</summary>
    internal const int DefaultChunkBytes = 4 << 20;

    /// <summary>Parses <paramref name="length"/> bytes at <paramref name="data"/>; null when the serial reader must
    /// decide.</summary>
    /// <param name="data">The CSV bytes; they must stay pinned (or mapped) until the call returns.</param>
    /// <param name="length">Bytes at <paramref name="data"/>.</param>
    /// <param name="options">Validated reader options.</param>
    /// <param name="chunkBytes">Target chunk size (tests use a few bytes to cut records everywhere).</param>
    /// <param name="progress">Called with (bytes, rows) parsed so far after each chunk, one call at a time.</param>
    public static DataTable? TryParse(
        byte* data,
        long length,
        CsvReaderOptions options,
        int chunkBytes = DefaultChunkBytes,
        Action<long, long>? progress = null
    )
    {
        if (!options.HasHeader || length == 0)
            return null;
        // A UTF-16/32 byte-order mark: the serial reader's StreamReader decodes those; this parser reads UTF-8 only.
        if (length >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF)))
            return null;
        if (length >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0xFE && data[3] == 0xFF)
            return null;
        long start = length >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF ? 3 : 0;

        var layout = new Layout(options);
        var headerSpan = new ReadOnlySpan<byte>(
            data + start,
            (int)Math.Min(length - start, (long)options.MaxRecordLength * 4 + 8)
        );
        var header = ReadHeader(headerSpan, layout, out int headerBytes);
        if (header is null || !Utf8.IsValid(headerSpan[..headerBytes]))
            return null;
        long dataStart = start + headerBytes;
        if (dataStart >= length)
            return null; // no data rows: the serial reader says so

        var chunks = SplitChunks(data, dataStart, length, Math.Max(1, chunkBytes));
        if (chunks is null)
            return null;
        // Count record terminators per chunk (in parallel): an upper bound of its rows, exact for ordinary files,
        // which places every chunk's rows in the shared column arrays before any chunk is parsed.
        Parallel.For(0, chunks.Length, i => chunks[i].CountTerminators(data, i == chunks.Length - 1));
        long capacity = 0;
        foreach (var c in chunks)
        {
            c.RowStart = capacity;
            capacity += c.Capacity;
        }
        if (capacity > Array.MaxLength)
            return null;

        var table = new SharedColumns(header, options, (int)capacity);
        var progressLock = new object();
        long bytesDone = 0,
            rowsDone = 0;
        bool failed = false;
        Parallel.For(0, chunks.Length, (i, loop) =>
        {
            if (!chunks[i].Parse(data, table, layout, forcedStrings: null))
            {
                failed = true;
                loop.Stop();
                return;
            }
            if (progress is null)
                return;
            lock (progressLock)
            {
                bytesDone += chunks[i].Length;
                rowsDone += chunks[i].Rows;
                progress(bytesDone, rowsDone);
            }
        });
        if (failed)
            return null;
        if (!ReconcileSwitchedColumns(data, chunks, table, layout))
            return null;
        return Assemble(chunks, table, header, options);
    }

    /// <summary>How the bytes are read: the delimiter and the missing-value tokens, shared by every chunk.</summary>
    private sealed class Layout(CsvReaderOptions options)
    {
        public readonly CsvReaderOptions Options = options;
        public readonly byte Delimiter = (byte)options.Delimiter;
        public readonly bool DelimiterIsAscii = options.Delimiter < 0x80;
        public readonly SearchValues<byte> FieldEnd = SearchValues.Create([
            (byte)options.Delimiter,
            (byte)'\r',
            (byte)'\n',
            (byte)'"',
        ]);
        public readonly bool OnlyEmptyIsMissing =
            options.MissingTokens.Count == 1 && options.MissingTokens[0].Length == 0;
    }

    /// <summary>The final column arrays every chunk writes its rows into (a string array only once a column needs
    /// one).</summary>
    private sealed class SharedColumns
    {
        public readonly double[][] Numbers;
        public readonly string?[]?[] Strings;
        public readonly ColumnKind?[] Forced;
        public readonly int Capacity;

        public SharedColumns(string[] header, CsvReaderOptions options, int capacity)
        {
            Capacity = capacity;
            Numbers = new double[header.Length][];
            Strings = new string?[header.Length][];
            Forced = new ColumnKind?[header.Length];
            for (int i = 0; i < header.Length; i++)
            {
                Numbers[i] = new double[capacity];
                Forced[i] = options.ColumnKinds.TryGetValue(header[i], out var kind) ? kind : null;
            }
        }

        /// <summary>The column's string array, created by whichever chunk needs it first.</summary>
        public string?[] StringsOf(int column)
        {
            var s = Volatile.Read(ref Strings[column]);
            if (s is not null)
                return s;
            Interlocked.CompareExchange(ref Strings[column], new string?[Capacity], null);
            return Strings[column]!;
        }
    }

    /// <summary>One run of whole records: where it is, where its rows go, what it found.</summary>
    private sealed class Chunk(long offset, long length)
    {
        public readonly long Offset = offset;
        public readonly long Length = length;
        public long RowStart;
        public int Capacity;
        public int Rows;

        /// <summary>Per column: -1 while numeric, else the chunk row from which its values were kept as text.</summary>
        public int[] SwitchRow = [];

        public void CountTerminators(byte* data, bool last)
        {
            // A record ends at LF, CRLF or a lone CR (as in the serial reader); a file's last record may have no end.
            var span = new ReadOnlySpan<byte>(data + Offset, (int)Length);
            long lf = span.Count((byte)'\n');
            long cr = span.Count((byte)'\r');
            long crlf = cr == 0 ? 0 : span.Count("\r\n"u8);
            long terminators = lf + cr - crlf;
            if (last && Length > 0 && span[^1] is not ((byte)'\n' or (byte)'\r'))
                terminators++;
            Capacity = (int)Math.Min(terminators, Array.MaxLength);
        }

        /// <summary>Parses the chunk into <paramref name="table"/>; false on anything the serial reader must
        /// judge.</summary>
        public bool Parse(byte* data, SharedColumns table, Layout layout, bool[]? forcedStrings)
        {
            var span = new ReadOnlySpan<byte>(data + Offset, (int)Length);
            if (!Utf8.IsValid(span))
                return false;
            int columns = table.Numbers.Length;
            var options = layout.Options;
            var switchRow = new int[columns];
            var pools = new Dictionary<string, string>?[columns];
            for (int c = 0; c < columns; c++)
            {
                bool strings = forcedStrings?[c] == true || IsForcedText(table.Forced[c]);
                switchRow[c] = strings ? 0 : -1;
            }
            var fieldStart = new int[columns + 1];
            var fieldLength = new int[columns + 1];
            var fieldEscaped = new bool[columns + 1];
            byte[] unescaped = new byte[256];
            char[] chars = new char[256];
            int rows = 0;
            int pos = 0;
            while (pos < span.Length)
            {
                int recordStart = pos;
                int fields = 0;
                while (true)
                {
                    if (fields > columns)
                        return false; // ragged: the serial reader reports the line
                    if (span[pos] == (byte)'"')
                    {
                        int i = pos + 1;
                        bool escaped = false;
                        while (true)
                        {
                            int rel = span[i..].IndexOf((byte)'"');
                            if (rel < 0)
                                return false; // not closed within the chunk
                            i += rel;
                            if (i + 1 < span.Length && span[i + 1] == (byte)'"')
                            {
                                escaped = true;
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        fieldStart[fields] = pos + 1;
                        fieldLength[fields] = i - pos - 1;
                        fieldEscaped[fields] = escaped;
                        fields++;
                        pos = i + 1;
                        if (pos >= span.Length)
                            break;
                        byte after = span[pos];
                        if (after == layout.Delimiter && layout.DelimiterIsAscii)
                        {
                            pos++;
                            if (pos >= span.Length)
                            {
                                AddEmpty(fieldStart, fieldLength, fieldEscaped, ref fields, pos, columns);
                                break;
                            }
                            continue;
                        }
                        if (after is (byte)'\n' or (byte)'\r')
                        {
                            pos = SkipNewline(span, pos);
                            break;
                        }
                        return false; // text after a closing quote
                    }
                    else
                    {
                        int rel = layout.DelimiterIsAscii ? span[pos..].IndexOfAny(layout.FieldEnd) : -2;
                        if (rel == -2)
                            return false; // a non-ASCII delimiter: the serial reader handles it
                        if (rel < 0)
                        {
                            fieldStart[fields] = pos;
                            fieldLength[fields] = span.Length - pos;
                            fieldEscaped[fields] = false;
                            fields++;
                            pos = span.Length;
                            break;
                        }
                        int stop = pos + rel;
                        byte b = span[stop];
                        if (b == (byte)'"')
                            return false; // a quote inside an unquoted field
                        fieldStart[fields] = pos;
                        fieldLength[fields] = rel;
                        fieldEscaped[fields] = false;
                        fields++;
                        if (b == layout.Delimiter)
                        {
                            pos = stop + 1;
                            if (pos >= span.Length)
                            {
                                AddEmpty(fieldStart, fieldLength, fieldEscaped, ref fields, pos, columns);
                                break;
                            }
                            continue;
                        }
                        pos = SkipNewline(span, stop);
                        break;
                    }
                }
                // Bytes bound characters from above: only a record that might be too long goes to the serial reader.
                if (pos - recordStart > options.MaxRecordLength)
                    return false;
                if (fields != columns)
                {
                    if (fields == 1 && fieldLength[0] == 0)
                        continue; // a blank line
                    return false;
                }
                if (rows == Capacity)
                    return false;
                long row = RowStart + rows;
                for (int c = 0; c < columns; c++)
                {
                    var raw = span.Slice(fieldStart[c], fieldLength[c]);
                    if (fieldEscaped[c])
                        raw = unescaped.AsSpan(0, Unescape(raw, ref unescaped));
                    if (switchRow[c] < 0 && layout.OnlyEmptyIsMissing)
                    {
                        // Most cells of a numeric file: an empty field or a plain decimal, read without decoding to
                        // text.
                        if (raw.IsEmpty)
                        {
                            table.Numbers[c][row] = double.NaN;
                            continue;
                        }
                        if (DecimalFastPath.TryParse(raw, out var fast))
                        {
                            table.Numbers[c][row] = fast;
                            continue;
                        }
                    }
                    var text = Decode(raw, ref chars);
                    bool missing =
                        text.IsEmpty || (!layout.OnlyEmptyIsMissing && IsMissingToken(text, options.MissingTokens));
                    if (switchRow[c] < 0)
                    {
                        if (missing)
                        {
                            table.Numbers[c][row] = double.NaN;
                            continue;
                        }
                        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                        {
                            table.Numbers[c][row] = v;
                            continue;
                        }
                        if (table.Forced[c] == ColumnKind.Numeric)
                            return false; // the serial reader names the cell
                        // As the serial builder does: the numbers read so far become their shortest round-trip text.
                        var earlier = table.StringsOf(c);
                        var pool = pools[c] ??= new Dictionary<string, string>(StringComparer.Ordinal);
                        for (long r = RowStart; r < row; r++)
                            earlier[r] = double.IsNaN(table.Numbers[c][r])
                                ? null
                                : Intern(pool, table.Numbers[c][r].ToString("R", CultureInfo.InvariantCulture));
                        switchRow[c] = rows;
                    }
                    table.StringsOf(c)[row] = missing
                        ? null
                        : Intern(pools[c] ??= new Dictionary<string, string>(StringComparer.Ordinal), text);
                }
                rows++;
            }
            Rows = rows;
            SwitchRow = switchRow;
            return true;
        }
    }

    private static bool IsForcedText(ColumnKind? kind) =>
        kind is ColumnKind.Categorical or ColumnKind.Text or ColumnKind.DateTime or ColumnKind.Boolean;

    private static void AddEmpty(int[] start, int[] length, bool[] escaped, ref int fields, int pos, int columns)
    {
        if (fields > columns)
            return; // already ragged; the caller sees fields != columns
        start[fields] = pos;
        length[fields] = 0;
        escaped[fields] = false;
        fields++;
    }

    private static int SkipNewline(ReadOnlySpan<byte> span, int pos) =>
        span[pos] == (byte)'\r' && pos + 1 < span.Length && span[pos + 1] == (byte)'\n' ? pos + 2 : pos + 1;

    /// <summary>Copies a quoted field's content into <paramref name="buffer"/> with doubled quotes collapsed; returns
    /// its length.</summary>
    private static int Unescape(ReadOnlySpan<byte> raw, ref byte[] buffer)
    {
        if (buffer.Length < raw.Length)
            buffer = new byte[Math.Max(raw.Length, buffer.Length * 2)];
        int n = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            buffer[n++] = raw[i];
            if (raw[i] == (byte)'"')
                i++; // a doubled quote stands for one
        }
        return n;
    }

    /// <summary>The field as characters, so numbers, missing tokens and strings go through the serial reader's own
    /// calls.</summary>
    private static ReadOnlySpan<char> Decode(ReadOnlySpan<byte> raw, ref char[] buffer)
    {
        if (buffer.Length < raw.Length)
            buffer = new char[Math.Max(raw.Length, buffer.Length * 2)];
        int n = Encoding.UTF8.GetChars(raw, buffer);
        return buffer.AsSpan(0, n);
    }

    private static bool IsMissingToken(ReadOnlySpan<char> field, IReadOnlyList<string> tokens)
    {
        foreach (var t in tokens)
            if (field.SequenceEqual(t))
                return true;
        return false;
    }

    private static string Intern(Dictionary<string, string> pool, ReadOnlySpan<char> text)
    {
        var lookup = pool.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(text, out var s))
            return s;
        s = new string(text);
        if (pool.Count < 100_000)
            pool[s] = s;
        return s;
    }

    /// <summary>The header's names (as the serial reader makes them) and its length in bytes; null when the serial
    /// reader must decide.</summary>
    private static string[]? ReadHeader(ReadOnlySpan<byte> span, Layout layout, out int headerBytes)
    {
        headerBytes = 0;
        var names = new List<string>();
        int pos = 0;
        var scratch = new byte[64];
        while (true)
        {
            if (pos >= span.Length)
                return null;
            ReadOnlySpan<byte> raw;
            if (span[pos] == (byte)'"')
            {
                int i = pos + 1;
                bool escaped = false;
                while (true)
                {
                    int rel = span[i..].IndexOf((byte)'"');
                    if (rel < 0)
                        return null;
                    i += rel;
                    if (i + 1 < span.Length && span[i + 1] == (byte)'"')
                    {
                        escaped = true;
                        i += 2;
                        continue;
                    }
                    break;
                }
                raw = span.Slice(pos + 1, i - pos - 1);
                if (escaped)
                    raw = scratch.AsSpan(0, Unescape(raw, ref scratch));
                pos = i + 1;
                if (pos >= span.Length)
                    return null;
                names.Add(Encoding.UTF8.GetString(raw));
                if (span[pos] == layout.Delimiter && layout.DelimiterIsAscii)
                {
                    pos++;
                    continue;
                }
                if (span[pos] is (byte)'\n' or (byte)'\r')
                {
                    pos = SkipNewline(span, pos);
                    break;
                }
                return null;
            }
            int end = layout.DelimiterIsAscii ? span[pos..].IndexOfAny(layout.FieldEnd) : -1;
            if (end < 0)
                return null;
            byte b = span[pos + end];
            if (b == (byte)'"')
                return null;
            names.Add(Encoding.UTF8.GetString(span.Slice(pos, end)));
            pos += end;
            if (b == layout.Delimiter)
            {
                pos++;
                continue;
            }
            pos = SkipNewline(span, pos);
            break;
        }
        if (pos > layout.Options.MaxRecordLength)
            return null;
        var header = new string[names.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < header.Length; i++)
        {
            var name = names[i].Trim();
            if (name.Length == 0)
                name = "column" + (i + 1);
            if (!seen.Add(name))
                return null; // the serial reader reports the repeated name
            header[i] = name;
        }
        headerBytes = pos;
        return header;
    }

    /// <summary>
    /// Cuts [<paramref name="start"/>, <paramref name="length"/>) into chunks that each begin at a record: the quote
    /// count up to a target says whether it is inside a quoted field, then the next line feed outside quotes ends the
    /// chunk.
    /// </summary>
    private static Chunk[]? SplitChunks(byte* data, long start, long length, int chunkBytes)
    {
        var chunks = new List<Chunk>();
        long pos = start;
        bool inQuotes = false;
        while (pos < length)
        {
            long target = Math.Min(length, pos + chunkBytes);
            long scanned = pos;
            // Quote parity from pos to target, in int-sized pieces (a mapped file may exceed 2 GB).
            while (scanned < target)
            {
                int n = (int)Math.Min(target - scanned, int.MaxValue);
                if (CsvRecordBoundaries.FlipsQuotes(new ReadOnlySpan<byte>(data + scanned, n)))
                    inQuotes = !inQuotes;
                scanned += n;
            }
            long end = target;
            while (end < length)
            {
                int n = (int)Math.Min(length - end, int.MaxValue);
                int recordEnd = CsvRecordBoundaries.FindRecordEnd(new ReadOnlySpan<byte>(data + end, n), ref inQuotes);
                if (recordEnd < 0)
                {
                    end += n;
                    continue;
                }
                end += recordEnd;
                break;
            }
            // A chunk past int.MaxValue bytes cannot be one span: let the serial reader take such a file.
            if (end - pos > int.MaxValue)
                return null;
            chunks.Add(new Chunk(pos, end - pos));
            pos = end;
        }
        return [.. chunks];
    }

    /// <summary>
    /// A column that turned to text in one chunk is text in the whole table, as in the serial reader: rows of earlier
    /// chunks become the shortest round-trip text of their numbers, and later chunks that parsed some of its values as
    /// numbers are parsed again keeping the column's text as written.
    /// </summary>
    private static bool ReconcileSwitchedColumns(byte* data, Chunk[] chunks, SharedColumns table, Layout layout)
    {
        int columns = table.Numbers.Length;
        var reparse = new bool[chunks.Length][];
        for (int c = 0; c < columns; c++)
        {
            int first = Array.FindIndex(chunks, ch => ch.SwitchRow[c] >= 0);
            if (first < 0)
                continue;
            var strings = table.StringsOf(c);
            for (int j = 0; j < first; j++)
            {
                var pool = new Dictionary<string, string>(StringComparer.Ordinal);
                for (long r = chunks[j].RowStart; r < chunks[j].RowStart + chunks[j].Rows; r++)
                    strings[r] = double.IsNaN(table.Numbers[c][r])
                        ? null
                        : Intern(pool, table.Numbers[c][r].ToString("R", CultureInfo.InvariantCulture));
            }
            for (int j = first + 1; j < chunks.Length; j++)
                if (chunks[j].SwitchRow[c] != 0)
                    (reparse[j] ??= new bool[columns])[c] = true;
        }
        bool ok = true;
        Parallel.For(0, chunks.Length, j =>
        {
            if (reparse[j] is { } force)
            {
                // Columns already text from the chunk's first row stay so; the forced ones join them.
                for (int c = 0; c < columns; c++)
                    force[c] |= chunks[j].SwitchRow[c] == 0;
                if (!chunks[j].Parse(data, table, layout, force))
                    ok = false;
            }
        });
        return ok;
    }

    /// <summary>Closes the gaps left by blank lines and quoted line breaks, then builds the columns.</summary>
    private static DataTable? Assemble(Chunk[] chunks, SharedColumns table, string[] header, CsvReaderOptions options)
    {
        long rows = 0;
        bool gaps = false;
        foreach (var ch in chunks)
        {
            if (ch.RowStart != rows)
                gaps = true;
            rows += ch.Rows;
        }
        if (rows == 0)
            return null;
        int columns = header.Length;
        Parallel.For(0, columns, c =>
        {
            bool text = chunks.Any(ch => ch.SwitchRow[c] >= 0);
            if (gaps)
            {
                long to = 0;
                foreach (var ch in chunks)
                {
                    if (text)
                        Array.Copy(table.Strings[c]!, ch.RowStart, table.Strings[c]!, to, ch.Rows);
                    else
                        Array.Copy(table.Numbers[c], ch.RowStart, table.Numbers[c], to, ch.Rows);
                    to += ch.Rows;
                }
            }
            if (text)
            {
                table.Numbers[c] = [];
                if (table.Strings[c]!.Length != rows)
                    Array.Resize(ref table.Strings[c], (int)rows);
            }
            else
            {
                table.Strings[c] = null;
                if (table.Numbers[c].Length != rows)
                    Array.Resize(ref table.Numbers[c], (int)rows);
            }
        });
        var built = new Column[columns];
        for (int c = 0; c < columns; c++)
        {
            if (table.Strings[c] is not { } strings)
            {
                built[c] = new Column(header[c], ColumnKind.Numeric, table.Numbers[c], null);
                continue;
            }
            // A text column that does not fit its declared kind: the serial reader raises the same error.
            try
            {
                built[c] = ColumnBuilder.FromStrings(header[c], table.Forced[c], options, strings).Build();
            }
            catch (CsvFormatException)
            {
                return null;
            }
        }
        return new DataTable(built);
    }
}
