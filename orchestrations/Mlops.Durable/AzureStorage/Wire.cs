using System.Text.Json.Serialization;
using Microsoft.WindowsAzure.Storage.Queue;

namespace Mlops.Durable.AzureStorage;

/// <summary>A control or work-item queue message: one history event addressed to one instance execution.</summary>
internal sealed record WireMessage
{
    /// <summary>Target instance.</summary>
    [JsonPropertyName("i")] public string InstanceId { get; init; } = "";
    /// <summary>Target execution; -1 means whichever is current (client events, terminate, suspend).</summary>
    [JsonPropertyName("x")] public int Execution { get; init; } = -1;
    /// <summary>The event to apply (for work items: the TaskScheduled event).</summary>
    [JsonPropertyName("e")] public HistoryEvent Event { get; init; } = null!;
    /// <summary>How often this message was re-sent because its instance was not ready for it.</summary>
    [JsonPropertyName("d")] public int Defers { get; init; }
    /// <summary>
    /// Times processing this message threw (carried from copy to copy). Poisoning counts these, not raw dequeues:
    /// a dequeue also happens after a crash or a slow episode, which says nothing about the message itself.
    /// </summary>
    [JsonPropertyName("f")] public int Failures { get; init; }
    /// <summary>Set on the queue copy of a message too large for a queue; the full message is in this blob.</summary>
    [JsonPropertyName("b")] public string? BlobRef { get; init; }
}

/// <summary>
/// The durable copy of a message being processed: deleted only after its effect is checkpointed, so a crash before
/// that makes it reappear. Pop receipts change when visibility is extended, hence mutable.
/// </summary>
internal sealed class QueueAnchor(CloudQueue queue, string id, string popReceipt, int dequeueCount)
{
    public CloudQueue Queue { get; } = queue;
    public string Id { get; } = id;
    public string PopReceipt { get; set; } = popReceipt;
    public int DequeueCount { get; } = dequeueCount;
    public int Released;
    /// <summary>Times this message came back from the queue while still being worked on here (visibility lapsed).</summary>
    public int Redelivered;
}

/// <summary>A message waiting to be applied to an instance, with the queue message to delete afterwards.</summary>
internal sealed record PendingMessage(WireMessage Message, QueueAnchor? Anchor);

/// <summary>The instance row: one per instance, in the same table partition as its history, updated under its ETag.</summary>
internal sealed class InstanceRecord
{
    public required string InstanceId { get; init; }
    public string Name { get; set; } = "";
    public OrchestrationRuntimeStatus Status { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public int Execution { get; set; }
    /// <summary>Number of history rows (episodes) of the current execution; the next row's sequence number.</summary>
    public int Seq { get; set; }
    public string? Input { get; set; }
    public string? Output { get; set; }
    public string? CustomStatus { get; set; }
    public FailureDetails? Failure { get; set; }
    public ParentInstance? Parent { get; set; }
    /// <summary>Null for a row not yet stored.</summary>
    public string? ETag { get; set; }

    public bool IsTerminal => Status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;

    public InstanceRecord Clone() => (InstanceRecord)MemberwiseClone();

    public OrchestrationStatus ToStatus(IReadOnlyList<HistoryEvent>? history) => new()
    {
        InstanceId = InstanceId, Name = Name, RuntimeStatus = Status, CreatedAt = CreatedAt, LastUpdatedAt = UpdatedAt,
        Input = Input, Output = Output, CustomStatus = CustomStatus, FailureDetails = Failure, Execution = Execution, History = history,
    };
}

/// <summary>An instance row with the history of its current execution.</summary>
internal sealed class InstanceState(InstanceRecord record, List<HistoryEvent> history)
{
    public InstanceRecord Record { get; set; } = record;
    public List<HistoryEvent> History { get; set; } = history;
}
