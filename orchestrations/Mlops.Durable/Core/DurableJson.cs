using System.Text.Json;
using Mlops.Core;

namespace Mlops.Durable.Core;

/// <summary>Payload serialization: project JSON options; null stays null.</summary>
internal static class DurableJson
{
    public static string? Serialize(object? value) =>
        value is null ? null : JsonSerializer.Serialize(value, value.GetType(), Json.Options);

    public static T Deserialize<T>(string? json)
    {
        if (json is null) return default!;
        return JsonSerializer.Deserialize<T>(json, Json.Options)!;
    }
}
