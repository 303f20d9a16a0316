using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mlops.Core.Errors;

/// <summary>
/// Reads JSON request bodies strictly and turns every way a body can be wrong into a typed 400 (never a binding
/// failure with an empty body, never a 500): malformed JSON, invalid UTF-8 or lone surrogates, unknown keys (no mass
/// assignment), wrong types, numbers that overflow to ±∞ or are absurdly long, too deep nesting, an empty body.
/// </summary>
public static class RequestJson
{
    /// <summary>Error code of a body that cannot be read.</summary>
    public const string InvalidBodyCode = "request.invalid_body";

    /// <summary>Largest request body accepted by <see cref="ReadAsync{T}"/> by default.</summary>
    public const int DefaultMaxBytes = 1024 * 1024;

    /// <summary>Longest number token accepted (a 5,000-digit number is an attack or a mistake, not data).</summary>
    public const int MaxNumberLength = 100;

    /// <summary>
    /// The project's JSON conventions (camelCase, enums as strings) made strict for input: unknown properties are
    /// errors, "NaN"/"Infinity" strings are not numbers, depth is capped at 32.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new(Json.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = 32,
    };

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> from <paramref name="body"/> and deserializes it. An empty body gives
    /// null when <paramref name="optional"/>, else a 400; <paramref name="what"/> names the body in error messages.
    /// </summary>
    public static async Task<T?> ReadAsync<T>(
        Stream body,
        string what,
        bool optional = false,
        int maxBytes = DefaultMaxBytes,
        CancellationToken cancellationToken = default
    )
        where T : class
    {
        ArgumentNullException.ThrowIfNull(body);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                throw new MlopsException("request.too_large", $"The {what} body exceeds {maxBytes} bytes.", 413);
            buffer.Write(chunk, 0, read);
        }
        return Parse<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), what, optional);
    }

    /// <summary>Deserializes a UTF-8 body; see <see cref="ReadAsync{T}"/>.</summary>
    public static T? Parse<T>(ReadOnlySpan<byte> utf8, string what, bool optional = false)
        where T : class
    {
        if (IsBlank(utf8))
            return optional ? null : throw Invalid(what, "the body is empty");
        CheckTokens(utf8, what);
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(utf8, Options);
        }
        catch (JsonException e)
        {
            throw Invalid(what, e.Message, e);
        }
        catch (Exception e)
            when (e is InvalidOperationException or FormatException or DecoderFallbackException or ArgumentException)
        {
            // Invalid UTF-8 or a lone surrogate inside a string surfaces here rather than as a JsonException.
            throw Invalid(what, "it contains text that is not valid UTF-8 (" + e.Message + ")", e);
        }
        return value ?? (optional ? null : throw Invalid(what, "the body is null"));
    }

    /// <summary>
    /// Walks every token once: rejects invalid UTF-8 anywhere (property names included), strings with lone surrogates,
    /// numbers that are not finite doubles or longer than <see cref="MaxNumberLength"/>.
    /// </summary>
    private static void CheckTokens(ReadOnlySpan<byte> utf8, string what)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = Options.MaxDepth });
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                    case JsonTokenType.String:
                        if (!JsonText.IsValidString(ref reader))
                            throw Invalid(
                                what,
                                $"a {(reader.TokenType == JsonTokenType.PropertyName ? "property name" : "string")} near byte {reader.TokenStartIndex} is not valid UTF-8 text (e.g. a lone surrogate \\ud800)"
                            );
                        break;
                    case JsonTokenType.Number:
                        if (JsonText.NumberProblem(reader.ValueSpan) is { } problem)
                            throw Invalid(what, $"the number near byte {reader.TokenStartIndex} {problem}");
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw Invalid(what, e.Message, e);
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> utf8)
    {
        foreach (byte b in utf8)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                return false;
        return true;
    }

    private static MlopsException Invalid(string what, string why, Exception? inner = null) =>
        new(InvalidBodyCode, $"The {what} body is invalid: {why}.", 400, inner);
}

/// <summary>Token checks shared by every JSON reader of request input (request bodies and the predict hot
/// path).</summary>
public static class JsonText
{
    /// <summary>
    /// True when the current string or property-name token is valid text: its raw bytes are valid UTF-8 and, when it
    /// has escapes, they unescape to well-formed UTF-16 (no lone surrogates). Allocation-free for unescaped tokens.
    /// </summary>
    public static bool IsValidString(ref Utf8JsonReader reader)
    {
        if (reader.HasValueSequence)
            return IsValidEscaped(ref reader);
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
            return System.Text.Unicode.Utf8.IsValid(raw);
        return IsValidEscaped(ref reader);
    }

    private static bool IsValidEscaped(ref Utf8JsonReader reader)
    {
        try
        {
            _ = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Null when the raw number token is a finite double of sane length, else why it is not.</summary>
    public static string? NumberProblem(ReadOnlySpan<byte> raw)
    {
        if (raw.Length > RequestJson.MaxNumberLength)
            return $"has {raw.Length} characters (at most {RequestJson.MaxNumberLength})";
        // Without an exponent, at most MaxNumberLength (< 309) digits is always a finite double: skip the parse (hot
        // path).
        if (raw.IndexOfAny((byte)'e', (byte)'E') < 0)
            return null;
        if (
            !System.Buffers.Text.Utf8Parser.TryParse(raw, out double value, out int consumed)
            || consumed != raw.Length
            || !double.IsFinite(value)
        )
            return "is outside the range of a double (±1.8e308)";
        return null;
    }
}
