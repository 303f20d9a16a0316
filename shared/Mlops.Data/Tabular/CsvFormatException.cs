namespace Mlops.Data.Tabular;

/// <summary>
/// Thrown when CSV input cannot be read. Carries the 1-based physical line and, when known, the 1-based column
/// (and its header name) so a user can find the problem in an editor; <see cref="Exception.Message"/> is a plain
/// sentence suitable for showing on a command line or in an HTTP 400 body.
/// </summary>
public sealed class CsvFormatException : Exception
{
    public CsvFormatException(
        string reason,
        long line,
        int? column = null,
        string? columnName = null,
        Exception? inner = null
    )
        : base(Format(reason, line, column, columnName), inner)
    {
        Reason = reason;
        Line = line;
        Column = column;
        ColumnName = columnName;
    }

    /// <summary>The problem without the location prefix.</summary>
    public string Reason { get; }

    /// <summary>1-based physical line where the offending record or field starts (0 when the file is empty).</summary>
    public long Line { get; }

    /// <summary>1-based field index, when the problem is tied to one field.</summary>
    public int? Column { get; }

    /// <summary>The header name of <see cref="Column"/>, when known.</summary>
    public string? ColumnName { get; }

    private static string Format(string reason, long line, int? column, string? columnName)
    {
        var where = line > 0 ? $"Line {line}" : "Input";
        if (column is int c)
            where += columnName is null ? $", column {c}" : $", column {c} ('{columnName}')";
        return $"{where}: {reason}";
    }
}
