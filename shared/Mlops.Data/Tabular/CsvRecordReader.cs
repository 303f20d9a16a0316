using System.Buffers;
using System.Text;

namespace Mlops.Data.Tabular;

/// <summary>
/// A forward-only RFC 4180 record reader over a UTF-8 stream: quoted fields may contain delimiters, doubled quotes
/// and line breaks; CRLF and LF both end a record. Fields are exposed as spans that stay valid until the next
/// <see cref="Read"/>, so a caller can parse numbers without allocating strings. Invalid input raises
/// <see cref="CsvFormatException"/> with the line where the record starts.
/// </summary>
public sealed class CsvRecordReader : IDisposable
{
    private static readonly SearchValues<char> QuoteOnly = SearchValues.Create("\"");
    private readonly TextReader _reader;
    private readonly CsvReaderOptions _options;
    private readonly SearchValues<char> _fieldEnd;
    private char[] _buffer = new char[1 << 16];
    private int _start; // first unread char
    private int _end; // one past last valid char
    private bool _eof;
    private long _consumedBefore;
    private long _nextLine = 1;

    // Per record: field boundaries in _buffer; escaped fields are unescaped into _scratch on demand.
    private int[] _fieldStart = new int[64];
    private int[] _fieldLength = new int[64];
    private bool[] _fieldEscaped = new bool[64];
    private char[] _scratch = new char[256];

    public CsvRecordReader(Stream stream, CsvReaderOptions? options = null, bool leaveOpen = false)
        : this(
            new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), true, 1 << 16, leaveOpen),
            options
        ) { }

    public CsvRecordReader(TextReader reader, CsvReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _options = options ?? CsvReaderOptions.Default;
        _options.Validate();
        _reader = reader;
        _fieldEnd = SearchValues.Create([_options.Delimiter, '\r', '\n', '"']);
    }

    /// <summary>Number of fields in the current record.</summary>
    public int FieldCount { get; private set; }

    /// <summary>1-based physical line on which the current record starts.</summary>
    public long Line { get; private set; }

    /// <summary>Characters consumed so far (≈ bytes for ASCII files; used to estimate the row count of large
    /// files).</summary>
    public long CharsConsumed => _consumedBefore + _start;

    /// <summary>Records read so far (including a header).</summary>
    public long RecordsRead { get; private set; }

    /// <summary>The text of field <paramref name="index"/> of the current record (quotes removed, doubled quotes
    /// collapsed).</summary>
    public ReadOnlySpan<char> GetField(int index)
    {
        if ((uint)index >= (uint)FieldCount)
            throw new ArgumentOutOfRangeException(nameof(index));
        var raw = _buffer.AsSpan(_fieldStart[index], _fieldLength[index]);
        if (!_fieldEscaped[index])
            return raw;
        if (_scratch.Length < raw.Length)
            _scratch = new char[Math.Max(raw.Length, _scratch.Length * 2)];
        int n = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            _scratch[n++] = raw[i];
            if (raw[i] == '"')
                i++; // a doubled quote stands for one
        }
        return _scratch.AsSpan(0, n);
    }

    /// <summary>Field <paramref name="index"/> as a new string.</summary>
    public string GetString(int index) => new(GetField(index));

    /// <summary>Advances to the next record. Returns false at end of input. Blank lines at the very end are
    /// ignored.</summary>
    public bool Read()
    {
        while (true)
        {
            var result = TryParseRecord();
            if (result == ParseResult.Record)
            {
                RecordsRead++;
                return true;
            }
            if (result == ParseResult.End)
                return false;
            // NeedMore: make room and read more, then parse the record again from its start.
            if (!Fill())
            {
                // At EOF a partial record is complete unless inside quotes (handled in TryParseRecord via _eof).
                continue;
            }
        }
    }

    private enum ParseResult
    {
        Record,
        NeedMore,
        End,
    }

    private ParseResult TryParseRecord()
    {
        int pos = _start;
        int end = _end;
        var buf = _buffer;
        if (pos >= end)
        {
            if (_eof)
                return ParseResult.End;
            return ParseResult.NeedMore;
        }
        long line = _nextLine;
        int extraLines = 0;
        int fields = 0;
        while (true)
        {
            if (fields == _fieldStart.Length)
                GrowFields();
            if (pos < end && buf[pos] == '"')
            {
                // Quoted field: find the closing quote not followed by another quote.
                int contentStart = pos + 1;
                int i = contentStart;
                bool escaped = false;
                while (true)
                {
                    int rel = buf.AsSpan(i, end - i).IndexOfAny(QuoteOnly);
                    if (rel < 0)
                    {
                        if (_eof)
                            throw new CsvFormatException(
                                "A quoted field is not closed before the end of the file.",
                                line,
                                fields + 1
                            );
                        return NeedMoreOrTooLong(line, end - _start);
                    }
                    // Count line breaks inside the quoted text so later line numbers stay right.
                    extraLines += buf.AsSpan(i, rel).Count('\n');
                    i += rel;
                    if (i + 1 >= end && !_eof)
                        return NeedMoreOrTooLong(line, end - _start);
                    if (i + 1 < end && buf[i + 1] == '"')
                    {
                        escaped = true;
                        i += 2;
                        continue;
                    }
                    break;
                }
                _fieldStart[fields] = contentStart;
                _fieldLength[fields] = i - contentStart;
                _fieldEscaped[fields] = escaped;
                fields++;
                pos = i + 1;
                if (pos >= end)
                {
                    // _eof is true here (checked above): the record ends with the file.
                    return Finish(fields, pos, line, extraLines);
                }
                char c = buf[pos];
                if (c == _options.Delimiter)
                {
                    pos++;
                    if (pos >= end && _eof)
                    {
                        AddEmpty(ref fields, pos);
                        return Finish(fields, pos, line, extraLines);
                    }
                    continue;
                }
                if (c == '\n' || c == '\r')
                {
                    int after = SkipNewline(pos, end, out bool needMore);
                    if (needMore)
                        return NeedMoreOrTooLong(line, end - _start);
                    return Finish(fields, after, line, extraLines);
                }
                throw new CsvFormatException(
                    $"Unexpected character '{c}' after a closing quote (a quote inside a quoted field must be doubled).",
                    line + extraLines,
                    fields
                );
            }
            else
            {
                int rel = buf.AsSpan(pos, end - pos).IndexOfAny(_fieldEnd);
                if (rel < 0)
                {
                    if (!_eof)
                        return NeedMoreOrTooLong(line, end - _start);
                    _fieldStart[fields] = pos;
                    _fieldLength[fields] = end - pos;
                    _fieldEscaped[fields] = false;
                    fields++;
                    return Finish(fields, end, line, extraLines);
                }
                int stop = pos + rel;
                char c = buf[stop];
                if (c == '"')
                    throw new CsvFormatException(
                        "A quote appears inside an unquoted field (quote the whole field and double inner quotes).",
                        line + extraLines,
                        fields + 1
                    );
                _fieldStart[fields] = pos;
                _fieldLength[fields] = rel;
                _fieldEscaped[fields] = false;
                fields++;
                if (c == _options.Delimiter)
                {
                    pos = stop + 1;
                    if (pos >= end)
                    {
                        if (!_eof)
                            return NeedMoreOrTooLong(line, end - _start);
                        AddEmpty(ref fields, pos);
                        return Finish(fields, pos, line, extraLines);
                    }
                    continue;
                }
                int next = SkipNewline(stop, end, out bool need);
                if (need)
                    return NeedMoreOrTooLong(line, end - _start);
                return Finish(fields, next, line, extraLines);
            }
        }
    }

    private void AddEmpty(ref int fields, int pos)
    {
        if (fields == _fieldStart.Length)
            GrowFields();
        _fieldStart[fields] = pos;
        _fieldLength[fields] = 0;
        _fieldEscaped[fields] = false;
        fields++;
    }

    private int SkipNewline(int pos, int end, out bool needMore)
    {
        needMore = false;
        if (_buffer[pos] == '\r')
        {
            if (pos + 1 >= end)
            {
                if (!_eof)
                {
                    needMore = true;
                    return pos;
                }
                return pos + 1;
            }
            return _buffer[pos + 1] == '\n' ? pos + 2 : pos + 1;
        }
        return pos + 1;
    }

    private ParseResult Finish(int fields, int next, long line, int extraLines)
    {
        if (next - _start > _options.MaxRecordLength)
            NeedMoreOrTooLong(line, next - _start);
        FieldCount = fields;
        Line = line;
        _nextLine = line + 1 + extraLines;
        _start = next;
        return ParseResult.Record;
    }

    private ParseResult NeedMoreOrTooLong(long line, int recordLength)
    {
        if (recordLength >= _options.MaxRecordLength)
            throw new CsvFormatException(
                $"The record is longer than the limit of {_options.MaxRecordLength:N0} characters (is a closing quote missing?).",
                line
            );
        return ParseResult.NeedMore;
    }

    /// <summary>Moves the unread tail to the buffer start, grows the buffer if full, and reads more. Returns false at
    /// EOF.</summary>
    private bool Fill()
    {
        if (_eof)
            throw new InvalidOperationException("Parser asked for more input after end of file.");
        int remaining = _end - _start;
        if (_start > 0)
        {
            _consumedBefore += _start;
            Array.Copy(_buffer, _start, _buffer, 0, remaining);
            _start = 0;
            _end = remaining;
        }
        if (_end == _buffer.Length)
        {
            int newSize = (int)Math.Min((long)_buffer.Length * 2, Math.Max(_options.MaxRecordLength + 2L, 16));
            if (newSize <= _buffer.Length)
                newSize = _buffer.Length * 2;
            Array.Resize(ref _buffer, newSize);
        }
        int read;
        try
        {
            read = _reader.Read(_buffer, _end, _buffer.Length - _end);
        }
        catch (DecoderFallbackException ex)
        {
            throw new CsvFormatException("The file is not valid UTF-8 text.", _nextLine, inner: ex);
        }
        if (read == 0)
        {
            _eof = true;
            return false;
        }
        _end += read;
        return true;
    }

    private void GrowFields()
    {
        int n = _fieldStart.Length * 2;
        Array.Resize(ref _fieldStart, n);
        Array.Resize(ref _fieldLength, n);
        Array.Resize(ref _fieldEscaped, n);
    }

    public void Dispose() => _reader.Dispose();
}
