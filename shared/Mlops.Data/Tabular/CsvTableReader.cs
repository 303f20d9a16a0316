using System.IO.MemoryMappedFiles;

namespace Mlops.Data.Tabular;

/// <summary>
/// Reads CSV into a columnar <see cref="DataTable"/> with inferred column kinds (numeric, boolean, datetime,
/// categorical, text). Numbers are parsed culture-invariantly; an empty field is a missing value.
/// For files larger than memory use <see cref="ReadChunks(Stream, CsvReaderOptions?, int)"/>, which streams
/// fixed-size row chunks sharing the schema inferred from the first chunk.
/// Files and byte buffers of at least <see cref="ParallelMinBytes"/> are parsed on every core (<see
/// cref="ParallelCsvParser"/>) with the same result, errors included: input the parallel path does not take is read by
/// the serial reader.
/// </summary>
public static class CsvTableReader
{
    /// <summary>Inputs from this size are parsed in parallel chunks; below it thread hand-offs cost more than they
    /// save.</summary>
    public const int ParallelMinBytes = 1 << 20;

    /// <summary>
    /// <c>MLOPS_CSV_SERIAL=1</c> reads every input with the serial reader: the benchmarks compare both paths of one
    /// build, and it is a way out should a file ever read differently in parallel.
    /// </summary>
    private static readonly bool SerialOnly = Environment.GetEnvironmentVariable("MLOPS_CSV_SERIAL") == "1";

    /// <summary>Reads a whole CSV file.</summary>
    /// <exception cref="CsvFormatException">The file is empty, has no data rows, or is malformed (line and column
    /// given).</exception>
    public static DataTable ReadFile(string path, CsvReaderOptions? options = null) => ReadFile(path, options, null);

    /// <summary>Reads a whole CSV file, reporting (bytes, rows) read so far to <paramref name="progress"/> (one call at
    /// a time).</summary>
    /// <exception cref="CsvFormatException">The file is empty, has no data rows, or is malformed (line and column
    /// given).</exception>
    public static DataTable ReadFile(string path, CsvReaderOptions? options, Action<long, long>? progress)
    {
        options ??= CsvReaderOptions.Default;
        options.Validate();
        long length = new FileInfo(path).Length;
        if (length >= ParallelMinBytes && !SerialOnly && ReadMapped(path, length, options, progress) is { } table)
            return table;
        using var stream = new FileStream(
            path,
            FileMode.Open,
            FileAccess.Read,
            FileShare.Read,
            1 << 16,
            FileOptions.SequentialScan
        );
        var table2 = Read(stream, options, EstimateRows(stream.Length), stream.Length, progress);
        progress?.Invoke(length, table2.RowCount);
        return table2;
    }

    /// <summary>Reads a whole CSV held in memory (UTF-8, optional BOM), in parallel chunks when it is large.</summary>
    /// <exception cref="CsvFormatException">The input is empty, has no data rows, or is malformed (line and column
    /// given).</exception>
    public static DataTable Read(ReadOnlyMemory<byte> utf8, CsvReaderOptions? options = null)
    {
        options ??= CsvReaderOptions.Default;
        options.Validate();
        if (utf8.Length >= ParallelMinBytes && !SerialOnly && TryReadParallel(utf8, options) is { } table)
            return table;
        using var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(utf8, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(utf8.ToArray(), writable: false);
        return Read(stream, options, EstimateRows(utf8.Length), utf8.Length);
    }

    /// <summary>The parallel parse of <paramref name="utf8"/>, or null when the serial reader must read it.</summary>
    internal static unsafe DataTable? TryReadParallel(
        ReadOnlyMemory<byte> utf8,
        CsvReaderOptions options,
        int chunkBytes = ParallelCsvParser.DefaultChunkBytes,
        Action<long, long>? progress = null
    )
    {
        using var pin = utf8.Pin();
        return ParallelCsvParser.TryParse((byte*)pin.Pointer, utf8.Length, options, chunkBytes, progress);
    }

    private static unsafe DataTable? ReadMapped(
        string path,
        long length,
        CsvReaderOptions options,
        Action<long, long>? progress
    )
    {
        // Mapped rather than read: no copy of the file on the heap, and files over 2 GB work as well.
        using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try
        {
            return ParallelCsvParser.TryParse(
                pointer + view.PointerOffset,
                length,
                options,
                ParallelCsvParser.DefaultChunkBytes,
                progress
            );
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    /// <summary>Reads a whole CSV from <paramref name="stream"/> (UTF-8, optional BOM).</summary>
    public static DataTable Read(Stream stream, CsvReaderOptions? options = null) =>
        Read(stream, options, 1024, stream.CanSeek ? stream.Length : 0);

    /// <summary>Parses CSV text (convenient for tests and small payloads).</summary>
    public static DataTable Parse(string csv, CsvReaderOptions? options = null) =>
        Read(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(csv)), options, 64, 0);

    private static int EstimateRows(long bytes) => (int)Math.Clamp(bytes / 256, 16, 1 << 20);

    private static DataTable Read(
        Stream stream,
        CsvReaderOptions? options,
        int capacityHint,
        long totalLength,
        Action<long, long>? progress = null
    )
    {
        options ??= CsvReaderOptions.Default;
        using var reader = new CsvRecordReader(stream, options, leaveOpen: true);
        var header = ReadHeader(reader, options);
        var builders = CreateBuilders(header, options, capacityHint);
        long rows = ReadRows(reader, header, builders, options, long.MaxValue, totalLength, progress);
        if (rows == 0)
            throw new CsvFormatException("The file has a header but no data rows.", reader.Line);
        return new DataTable(builders.Select(b => b.Build()).ToList());
    }

    /// <summary>
    /// Streams the CSV as tables of at most <paramref name="chunkRows"/> rows. Kinds are inferred from the first chunk
    /// and kept for the rest; a later value that does not fit its column's kind raises <see
    /// cref="CsvFormatException"/>.
    /// </summary>
    public static IEnumerable<DataTable> ReadChunks(Stream stream, CsvReaderOptions? options = null, int chunkRows = 0)
    {
        options ??= CsvReaderOptions.Default;
        if (chunkRows <= 0)
            chunkRows = options.ChunkRows;
        using var reader = new CsvRecordReader(stream, options, leaveOpen: true);
        var header = ReadHeader(reader, options);
        ColumnKind[]? kinds = null;
        long total = 0;
        while (true)
        {
            CsvReaderOptions chunkOptions = options;
            if (kinds is not null)
            {
                var forced = new Dictionary<string, ColumnKind>(StringComparer.Ordinal);
                for (int i = 0; i < header.Length; i++)
                    forced[header[i]] = kinds[i];
                chunkOptions = new CsvReaderOptions
                {
                    Delimiter = options.Delimiter,
                    HasHeader = options.HasHeader,
                    MaxRecordLength = options.MaxRecordLength,
                    MissingTokens = options.MissingTokens,
                    ColumnKinds = forced,
                    MaxCategoricalCardinality = options.MaxCategoricalCardinality,
                    MaxCategoricalDistinctRatio = options.MaxCategoricalDistinctRatio,
                };
            }
            var builders = CreateBuilders(header, chunkOptions, chunkRows);
            long rows = ReadRows(reader, header, builders, chunkOptions, chunkRows);
            if (rows == 0)
            {
                if (total == 0)
                    throw new CsvFormatException("The file has a header but no data rows.", reader.Line);
                yield break;
            }
            total += rows;
            var table = new DataTable(builders.Select((b, i) => b.Build(kinds?[i])).ToList());
            kinds ??= table.Columns.Select(c => c.Kind).ToArray();
            yield return table;
            if (rows < chunkRows)
                yield break;
        }
    }

    private static string[] ReadHeader(CsvRecordReader reader, CsvReaderOptions options)
    {
        if (!reader.Read())
            throw new CsvFormatException("The file is empty.", 0);
        var names = new string[reader.FieldCount];
        if (!options.HasHeader)
        {
            for (int i = 0; i < names.Length; i++)
                names[i] = "column" + (i + 1);
            return names; // the current record is data; ReadRows consumes it first
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            var name = reader.GetString(i).Trim();
            if (name.Length == 0)
                name = "column" + (i + 1); // e.g. an unnamed pandas index column
            if (!seen.Add(name))
                throw new CsvFormatException($"The header repeats the column name '{name}'.", reader.Line, i + 1, name);
            names[i] = name;
        }
        return names;
    }

    private static ColumnBuilder[] CreateBuilders(string[] header, CsvReaderOptions options, int capacity)
    {
        var builders = new ColumnBuilder[header.Length];
        for (int i = 0; i < header.Length; i++)
            builders[i] = new ColumnBuilder(
                header[i],
                options.ColumnKinds.TryGetValue(header[i], out var k) ? k : null,
                options,
                capacity
            );
        return builders;
    }

    private static long ReadRows(
        CsvRecordReader reader,
        string[] header,
        ColumnBuilder[] builders,
        CsvReaderOptions options,
        long maxRows,
        long totalLength = 0,
        Action<long, long>? progress = null
    )
    {
        var missing = options.MissingTokens;
        bool onlyEmptyIsMissing = missing.Count == 1 && missing[0].Length == 0;
        long rows = 0;
        // Without a header the record read to size the columns is the first data row.
        bool pending = !options.HasHeader && reader.RecordsRead == 1 && builders.Length > 0 && builders[0].Count == 0;
        while (rows < maxRows && (pending || reader.Read()))
        {
            pending = false;
            int n = reader.FieldCount;
            if (n != header.Length)
            {
                if (n == 1 && reader.GetField(0).IsEmpty)
                    continue; // a blank line
                throw new CsvFormatException(
                    $"The row has {n} fields but the header has {header.Length}.",
                    reader.Line,
                    Math.Min(n, header.Length) + (n > header.Length ? 1 : 0),
                    null
                );
            }
            for (int i = 0; i < n; i++)
            {
                var f = reader.GetField(i);
                bool isMissing = f.IsEmpty || (!onlyEmptyIsMissing && IsMissingToken(f, missing));
                builders[i].Add(f, isMissing, reader.Line, i + 1);
            }
            rows++;
            if (progress is not null && (rows & 0xFFFF) == 0)
                progress(reader.CharsConsumed, rows);
            if (rows == 4096 && totalLength > 0)
            {
                // Size every column once from the bytes per row seen so far (+3%), instead of doubling repeatedly.
                double perRow = (double)reader.CharsConsumed / (rows + 1); // + 1 for the header
                long expected = (long)(totalLength / perRow * 1.03) + 16;
                if (expected < int.MaxValue / 2)
                    foreach (var b in builders)
                        b.EnsureCapacity((int)expected);
            }
        }
        return rows;
    }

    private static bool IsMissingToken(ReadOnlySpan<char> field, IReadOnlyList<string> tokens)
    {
        foreach (var t in tokens)
            if (field.SequenceEqual(t))
                return true;
        return false;
    }
}
