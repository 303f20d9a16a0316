using Mlops.Data.Tabular;

namespace Mlops.Data.Versions;

/// <summary>
/// Turns a stored file into a <see cref="DataTable"/>. The store depends on this seam rather than on the CSV reader
/// directly so tests and other formats (Parquet later) can plug in.
/// </summary>
public interface ITableParser
{
    /// <summary>Parses <paramref name="data"/>.</summary>
    /// <exception cref="DataException">The file is not a readable table: code <c>data.malformed</c>, with
    /// <see cref="DataException.Line"/> (and <see cref="DataException.Column"/>) when known.</exception>
    DataTable Parse(ReadOnlyMemory<byte> data);
}
