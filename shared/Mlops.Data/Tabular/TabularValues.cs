using System.Globalization;

namespace Mlops.Data.Tabular;

/// <summary>
/// The text conventions shared by the CSV reader and everything that accepts values outside CSV (JSON prediction
/// requests, validation): culture-invariant numbers, true/false booleans, ISO-8601 datetimes as Unix seconds.
/// Using one implementation keeps a value parsed from a CSV file and from a JSON request bit-identical.
/// </summary>
public static class TabularValues
{
    /// <summary>Parses a culture-invariant number (e.g. <c>1.5</c>, <c>-2e3</c>; no thousands separators).</summary>
    public static bool TryParseNumber(ReadOnlySpan<char> s, out double value) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    /// <summary>true/false in any letter case, or 1/0.</summary>
    public static bool TryParseBoolean(ReadOnlySpan<char> s, out bool value) =>
        ColumnBuilder.TryParseBoolean(s, out value);

    /// <summary>ISO-8601 date or date-time (yyyy-MM-dd…) as Unix seconds; times without an offset are UTC.</summary>
    public static bool TryParseDateTime(ReadOnlySpan<char> s, out double unixSeconds) =>
        ColumnBuilder.TryParseDateTime(s, out unixSeconds);
}
