using DurableTask.AzureStorage;
using DurableTask.Core.History;
using Newtonsoft.Json.Linq;

namespace Mlops.Host.Durable;

/// <summary>Reads an instance's persisted history from the Azure Storage backend as DTFx history events.</summary>
public static class StoredHistory
{
    /// <summary>
    /// The history of the instance's latest execution (or of <paramref name="executionId"/>). The backend returns the
    /// rows as JSON without type names; each row's <c>EventType</c> names its class.
    /// </summary>
    public static async Task<IReadOnlyList<HistoryEvent>> ReadAsync(
        AzureStorageOrchestrationService service,
        string instanceId,
        string? executionId
    )
    {
        string json = await service.GetOrchestrationHistoryAsync(instanceId, executionId!);
        var events = new List<HistoryEvent>();
        if (string.IsNullOrWhiteSpace(json))
            return events;
        foreach (var row in JArray.Parse(json).OfType<JObject>())
        {
            var kind = ParseEventType(row["EventType"]);
            if (kind is null)
                continue;
            var assembly = typeof(HistoryEvent).Assembly;
            var type = assembly.GetType($"DurableTask.Core.History.{kind}Event")
                ?? assembly.GetType($"DurableTask.Core.History.{kind}");
            if (type is not null && row.ToObject(type) is HistoryEvent e)
                events.Add(e);
        }
        return events;
    }

    private static EventType? ParseEventType(JToken? token) =>
        token?.Type switch
        {
            JTokenType.Integer => (EventType)token.Value<int>(),
            JTokenType.String when Enum.TryParse<EventType>(token.Value<string>(), out var parsed) => parsed,
            _ => null,
        };
}
