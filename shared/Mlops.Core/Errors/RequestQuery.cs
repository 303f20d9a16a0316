using System.Globalization;

namespace Mlops.Core.Errors;

/// <summary>
/// Parses query-string values by hand so a bad one is a typed 400 naming the parameter (<c>request.invalid_query</c>),
/// not a minimal-API binding failure with an empty body. Take the parameter as <c>string?</c> and call these.
/// </summary>
public static class RequestQuery
{
    /// <summary>Error code of a bad query value.</summary>
    public const string InvalidCode = "request.invalid_query";

    /// <summary>An ISO 8601 time (UTC when no offset is given), or null when absent.</summary>
    public static DateTimeOffset? Time(string name, string? value)
    {
        if (value is null)
            return null;
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : throw new MlopsException(
                InvalidCode,
                $"?{name}= must be an ISO 8601 time such as 2026-12-01T14:00:00Z, got '{Clip(value)}'."
            );
    }

    /// <summary>A positive integer (e.g. a version number); required.</summary>
    public static int PositiveInt(string name, string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 1
            ? v
            : throw new MlopsException(InvalidCode, $"?{name}= must be a positive whole number, got '{Clip(value)}'.");

    /// <summary>A positive integer, or null when absent.</summary>
    public static int? OptionalPositiveInt(string name, string? value) =>
        value is null ? null : PositiveInt(name, value);

    /// <summary>A whole number of 0 or more (an offset), or <paramref name="absent"/> when absent.</summary>
    public static int NonNegativeInt(string name, string? value, int absent = 0) =>
        value is null ? absent
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
        : throw new MlopsException(InvalidCode, $"?{name}= must be a whole number of 0 or more, got '{Clip(value)}'.");

    private static string Clip(string? value) =>
        value is null ? ""
        : value.Length <= 64 ? value
        : value[..64] + "…";
}
