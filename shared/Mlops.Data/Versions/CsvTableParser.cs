using System.Runtime.InteropServices;
using Mlops.Data.Tabular;

namespace Mlops.Data.Versions;

/// <summary>The default <see cref="ITableParser"/>: the project's CSV reader, with its format errors turned into
/// <c>data.malformed</c> <see cref="DataException"/>s that keep the line and column.</summary>
public sealed class CsvTableParser(CsvReaderOptions? options = null) : ITableParser
{
    /// <summary>Shared instance with default reader options.</summary>
    public static readonly CsvTableParser Default = new();

    /// <inheritdoc />
    public DataTable Parse(ReadOnlyMemory<byte> data)
    {
        try
        {
            // Large files are parsed on every core; the serial reader takes the rest and reports errors as before.
            if (data.Length >= CsvTableReader.ParallelMinBytes)
                return CsvTableReader.Read(data, options);
            // Wrap the existing array when there is one: the file must not be copied just to get a Stream.
            using var stream = MemoryMarshal.TryGetArray(data, out var seg)
                ? new MemoryStream(seg.Array!, seg.Offset, seg.Count, writable: false)
                : new MemoryStream(data.ToArray(), writable: false);
            return CsvTableReader.Read(stream, options);
        }
        catch (CsvFormatException ex)
        {
            throw new DataException("data.malformed", ex.Message, inner: ex)
            {
                Line = ex.Line > 0 ? ex.Line : null,
                Column = ex.Column,
            };
        }
    }
}
