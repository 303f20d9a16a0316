using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mlops.Host.Triggers;

/// <summary>
/// A blob change queued for a function, in the Blobs extension's message shape (azure-sdk-for-net
/// Microsoft.Azure.WebJobs.Extensions.Storage.Blobs 5.3.x BlobTriggerMessage, Newtonsoft):
/// <c>{"Type":"BlobTrigger","FunctionId":"Host.Functions.X","BlobType":"BlockBlob","ContainerName":"c","BlobName":"n","ETag":"\"0x..\""}</c>.
/// The same text goes to <c>azure-webjobs-blobtrigger-{hostId}</c> and, after the last failed try, to
/// <c>webjobs-blobtrigger-poison</c> (base64-encoded, as the extension's queue clients write it).
/// </summary>
public sealed record BlobTriggerMessage(
    string FunctionId,
    string BlobType,
    string ContainerName,
    string BlobName,
    string ETag
)
{
    /// <summary>The host's queue of blob changes to run.</summary>
    public static string HostQueueName(string hostId) => $"azure-webjobs-blobtrigger-{hostId}".ToLowerInvariant();

    /// <summary>Where a blob goes after its last failed try (HostQueueNames.BlobTriggerPoisonQueue).</summary>
    public const string PoisonQueueName = "webjobs-blobtrigger-poison";

    /// <summary>The message text.</summary>
    public string ToJson() =>
        new JsonObject
        {
            ["Type"] = "BlobTrigger",
            ["FunctionId"] = FunctionId,
            ["BlobType"] = BlobType,
            ["ContainerName"] = ContainerName,
            ["BlobName"] = BlobName,
            ["ETag"] = ETag,
        }.ToJsonString();

    /// <summary>Reads a message; throws <see cref="FormatException"/> saying what is missing when it is not
    /// one.</summary>
    public static BlobTriggerMessage Parse(string text)
    {
        JsonObject json;
        try
        {
            json =
                JsonNode.Parse(text) as JsonObject
                ?? throw new FormatException("The blob trigger message is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"The blob trigger message is not JSON: {e.Message}", e);
        }
        string Required(string name) =>
            json[name] is JsonValue v && v.TryGetValue(out string? s) && !string.IsNullOrEmpty(s)
                ? s
                : throw new FormatException($"The blob trigger message has no '{name}'.");
        return new BlobTriggerMessage(
            Required("FunctionId"),
            json["BlobType"]?.GetValue<string>() ?? "BlockBlob",
            Required("ContainerName"),
            Required("BlobName"),
            json["ETag"]?.GetValue<string>() ?? ""
        );
    }
}
