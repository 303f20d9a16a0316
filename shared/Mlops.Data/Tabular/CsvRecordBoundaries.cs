namespace Mlops.Data.Tabular;

/// <summary>
/// Where CSV records end in raw UTF-8 bytes, without parsing fields: a line feed ends a record only outside a quoted
/// field, and every quote flips "inside a quoted field" (a doubled quote flips twice, so it changes nothing). The state
/// is carried across calls, so a file can be scanned in blocks of any size: the parallel parser cuts a mapped file into
/// chunks with it, and batch scoring plans the chunks of a blob it streams once.
/// </summary>
public static class CsvRecordBoundaries
{
    /// <summary>Whether crossing <paramref name="span"/> flips the quoted state (an odd number of quotes).</summary>
    public static bool FlipsQuotes(ReadOnlySpan<byte> span) => (span.Count((byte)'"') & 1) == 1;

    /// <summary>
    /// The index just past the first line feed outside quotes, or -1 when <paramref name="span"/> has none.
    /// <paramref name="inQuotes"/> is the state at the span's start on entry and at the returned index (or the span's
    /// end) on return.
    /// </summary>
    public static int FindRecordEnd(ReadOnlySpan<byte> span, ref bool inQuotes)
    {
        int pos = 0;
        while (pos < span.Length)
        {
            int rel = span[pos..].IndexOfAny((byte)'"', (byte)'\n');
            if (rel < 0)
                break;
            pos += rel;
            if (span[pos] == (byte)'"')
                inQuotes = !inQuotes;
            else if (!inQuotes)
                return pos + 1;
            pos++;
        }
        return -1;
    }

    /// <summary>
    /// Skips <paramref name="records"/> record ends: returns the index just past the last of them, or -1 when the span
    /// holds fewer (then <paramref name="found"/> says how many it holds and <paramref name="inQuotes"/> is the state
    /// at its end). A block without quotes is counted with one vectorized pass, which is what makes planning a file
    /// that is mostly numbers about as fast as reading it.
    /// </summary>
    public static int SkipRecords(ReadOnlySpan<byte> span, long records, ref bool inQuotes, out long found)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(records);
        found = 0;
        if (!inQuotes && !span.Contains((byte)'"'))
        {
            int lines = span.Count((byte)'\n');
            if (lines < records)
            {
                found = lines;
                return -1;
            }
            int at = 0;
            for (long i = 0; i < records; i++)
                at += span[at..].IndexOf((byte)'\n') + 1;
            found = records;
            return at;
        }
        int pos = 0;
        while (found < records)
        {
            int end = FindRecordEnd(span[pos..], ref inQuotes);
            if (end < 0)
                return -1;
            pos += end;
            found++;
        }
        return pos;
    }
}
