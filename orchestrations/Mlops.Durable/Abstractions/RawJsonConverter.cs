using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mlops.Durable;

/// <summary>
/// Writes a property that holds JSON text (input, output, custom status) as embedded JSON, so an HTTP caller reads
/// <c>"output": {"version": 2}</c> rather than a string to parse again; reading takes any JSON value back as its text.
/// </summary>
public sealed class RawJsonConverter : JsonConverter<string?>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        using var doc = JsonDocument.ParseValue(ref reader);
        return doc.RootElement.GetRawText();
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        if (value is null) { writer.WriteNullValue(); return; }
        try
        {
            using var doc = JsonDocument.Parse(value);
            doc.RootElement.WriteTo(writer);
        }
        catch (JsonException) { writer.WriteStringValue(value); } // not JSON after all: keep it as text
    }
}
