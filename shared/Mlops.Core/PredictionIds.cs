using System.Globalization;

namespace Mlops.Core;

/// <summary>
/// Identifiers of served predictions: 12 hex digits of the Unix time in milliseconds followed by 16 random hex digits
/// (28 characters, lowercase). Time-ordered, so logs and feedback sort by prediction time, and decodable, so a label
/// can be checked against the lookback without a lookup. Clients may send their own ids instead; those are opaque.
/// </summary>
public static class PredictionIds
{
    /// <summary>Length of a server-generated id.</summary>
    public const int Length = 28;

    /// <summary>Longest id accepted from a client.</summary>
    public const int MaxClientLength = 128;

    /// <summary>A new id for a prediction made at <paramref name="at"/>.</summary>
    public static string New(DateTimeOffset at) =>
        string.Create(Length, (Ms: at.ToUnixTimeMilliseconds(), Rnd: Random.Shared.NextInt64()), static (span, s) =>
        {
            s.Ms.TryFormat(span[..12], out _, "x12", CultureInfo.InvariantCulture);
            s.Rnd.TryFormat(span[12..], out _, "x16", CultureInfo.InvariantCulture);
        });

    /// <summary>
    /// Whether a client id can travel everywhere an id goes (response header, logs, CSV feedback): printable ASCII
    /// (0x20–0x7E) without leading or trailing space, which HTTP would trim.
    /// </summary>
    public static bool IsPrintableAscii(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length == 0 || id[0] == ' ' || id[^1] == ' ')
            return false;
        foreach (char c in id)
            if (c is < ' ' or > '~')
                return false;
        return true;
    }

    /// <summary>The prediction time encoded in a server-generated id; false for other (client) ids.</summary>
    public static bool TryGetTime(string id, out DateTimeOffset at)
    {
        at = default;
        if (id is not { Length: Length })
            return false;
        foreach (char c in id)
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
                return false;
        long ms = long.Parse(id.AsSpan(0, 12), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            return false;
        at = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }
}
