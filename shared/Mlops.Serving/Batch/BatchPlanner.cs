using System.Text;
using Mlops.Data.Tabular;
using Mlops.ML.Models;

namespace Mlops.Serving.Batch;

/// <summary>The header and chunks of an input, found by streaming it once.</summary>
/// <param name="HeaderLine">The header record as written, without a byte-order mark (and with its line end).</param>
/// <param name="Header">The header's column names, as the CSV reader names them.</param>
/// <param name="Chunks">Chunks in input order; every record belongs to exactly one.</param>
/// <param name="Records">Records after the header (blank lines included).</param>
/// <param name="Bytes">Input length.</param>
public sealed record BatchLayout(
    string HeaderLine,
    IReadOnlyList<string> Header,
    IReadOnlyList<BatchChunk> Chunks,
    long Records,
    long Bytes
);

/// <summary>
/// Plans a batch job: reads the input once, block by block (never the whole file in memory), and cuts it into runs
/// of <c>chunkRows</c> whole records with <see cref="CsvRecordBoundaries"/> — a line break inside a quoted field does
/// not end a record — so each chunk can be read later by byte range and numbered without reading anything before it.
/// </summary>
public static class BatchPlanner
{
    /// <summary>Bytes read per block while planning.</summary>
    public const int BlockBytes = 4 << 20;

    /// <summary>Longest header record accepted.</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <summary>Streams <paramref name="input"/> and returns its layout.</summary>
    /// <exception cref="CsvFormatException">The input is empty or its header cannot be read.</exception>
    public static Task<BatchLayout> PlanAsync(
        Stream input,
        int chunkRows,
        CancellationToken cancellationToken = default
    ) => PlanAsync(input, chunkRows, BlockBytes, cancellationToken);

    /// <summary>The same with another block size (tests cut records at every byte with tiny blocks).</summary>
    internal static async Task<BatchLayout> PlanAsync(
        Stream input,
        int chunkRows,
        int blockBytes,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkRows);
        var buffer = new byte[Math.Max(blockBytes, 16)];
        int filled = await FillAsync(input, buffer, 0, cancellationToken).ConfigureAwait(false);
        if (filled == 0)
            throw new CsvFormatException(
                "The input is empty: a CSV with a header row and data rows is expected.",
                1,
                0
            );
        int bom = filled >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0;
        bool inQuotes = false;
        int headerEnd = CsvRecordBoundaries.FindRecordEnd(buffer.AsSpan(bom, filled - bom), ref inQuotes);
        while (headerEnd < 0 && filled == buffer.Length && buffer.Length < MaxHeaderBytes)
        {
            // A header longer than a block: read on (the block then stays that large for the scan).
            Array.Resize(ref buffer, Math.Min(MaxHeaderBytes, buffer.Length * 2));
            filled = await FillAsync(input, buffer, filled, cancellationToken).ConfigureAwait(false);
            inQuotes = false;
            headerEnd = CsvRecordBoundaries.FindRecordEnd(buffer.AsSpan(bom, filled - bom), ref inQuotes);
        }
        if (headerEnd < 0)
        {
            if (filled < buffer.Length && !inQuotes)
                headerEnd = filled - bom; // a header and no data
            else
                throw new CsvFormatException(
                    $"No header record within the first {MaxHeaderBytes} bytes of the input.",
                    1,
                    0
                );
        }
        string headerLine = DecodeHeader(buffer.AsSpan(bom, headerEnd));
        var header = ReadHeader(headerLine);

        // Scan from the header's end, one block at a time: chunk boundaries are the byte offsets after every
        // chunkRows-th record end.
        var chunks = new List<BatchChunk>();
        long dataStart = bom + headerEnd;
        long chunkStart = dataStart,
            rowsBefore = 0;
        long need = chunkRows;
        long blockStart = 0;
        int pos = (int)dataStart;
        byte last = (byte)'\n';
        inQuotes = false;
        while (true)
        {
            while (pos < filled)
            {
                int at = CsvRecordBoundaries.SkipRecords(
                    buffer.AsSpan(pos, filled - pos),
                    need,
                    ref inQuotes,
                    out long found
                );
                if (at < 0)
                {
                    need -= found;
                    break;
                }
                pos += at;
                long end = blockStart + pos;
                chunks.Add(new BatchChunk(chunks.Count, chunkStart, end - chunkStart, rowsBefore + 1, chunkRows));
                rowsBefore += chunkRows;
                chunkStart = end;
                need = chunkRows;
            }
            if (filled > 0)
                last = buffer[filled - 1];
            blockStart += filled;
            if (filled < buffer.Length)
                break; // the stream ended inside this block
            filled = await FillAsync(input, buffer, 0, cancellationToken).ConfigureAwait(false);
            pos = 0;
            if (filled == 0)
                break;
        }
        long total = blockStart;
        if (chunkStart < total)
        {
            // The rest: its complete records, plus a last record without a line end.
            long rows = chunkRows - need + (last != (byte)'\n' ? 1 : 0);
            chunks.Add(new BatchChunk(chunks.Count, chunkStart, total - chunkStart, rowsBefore + 1, rows));
            rowsBefore += rows;
        }
        return new BatchLayout(headerLine, header, chunks, rowsBefore, total);
    }

    /// <summary>
    /// Why the header does not fit the model (null when it does): every column the model uses must be there, and every
    /// column asked to be copied. The message names what is missing and what the model does not know.
    /// </summary>
    public static string? CheckHeader(Model model, IReadOnlyList<string> header, IReadOnlyList<string> copied)
    {
        ArgumentNullException.ThrowIfNull(model);
        var present = header.ToHashSet(StringComparer.Ordinal);
        var known = model.InputSchema.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var missing = model.InputSchema.Where(c => c.Used && !present.Contains(c.Name)).Select(c => c.Name).ToList();
        var missingCopies = copied.Where(c => !present.Contains(c)).ToList();
        if (missing.Count == 0 && missingCopies.Count == 0)
            return null;
        var extra = header.Where(h => !known.Contains(h)).ToList();
        var message = new StringBuilder("The input's header does not fit the model: ");
        if (missing.Count > 0)
            message.Append($"missing column(s) {List(missing)}");
        if (missingCopies.Count > 0)
            message
                .Append(missing.Count > 0 ? "; " : "")
                .Append($"column(s) asked for in \"columns\" not in the input: {List(missingCopies)}");
        message.Append(
            extra.Count > 0 ? $"; extra column(s) the model does not use: {List(extra)}" : "; no extra columns"
        );
        message.Append('.');
        return message.ToString();
    }

    private static string List(IEnumerable<string> names)
    {
        var all = names.ToList();
        var shown = all.Take(20).Select(n => $"'{n}'");
        return string.Join(", ", shown) + (all.Count > 20 ? $" and {all.Count - 20} more" : "");
    }

    /// <summary>The header's names as the CSV reader makes them (trimmed; an empty name is <c>column{i}</c>).</summary>
    public static string[] ReadHeader(string headerLine)
    {
        using var reader = new CsvRecordReader(
            new StringReader(headerLine),
            new CsvReaderOptions { HasHeader = false }
        );
        if (!reader.Read())
            throw new CsvFormatException("The input has no header record.", 1, 0);
        var names = new string[reader.FieldCount];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            var name = reader.GetString(i).Trim();
            if (name.Length == 0)
                name = "column" + (i + 1);
            if (!seen.Add(name))
                throw new CsvFormatException($"The header names column '{name}' twice.", 1, i + 1);
            names[i] = name;
        }
        return names;
    }

    private static string DecodeHeader(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new CsvFormatException("The header is not valid UTF-8 text.", 1, 0);
        }
    }

    private static async Task<int> FillAsync(
        Stream input,
        byte[] buffer,
        int offset,
        CancellationToken cancellationToken
    )
    {
        int filled = offset;
        while (filled < buffer.Length)
        {
            int read = await input.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
                break;
            filled += read;
        }
        return filled;
    }
}
