using System.Text.Json.Serialization;
using Mlops.Core;

namespace Mlops.Durable;

/// <summary>Lifecycle state of an orchestration instance.</summary>
public enum OrchestrationRuntimeStatus
{
    /// <summary>Created; the first episode has not run yet.</summary>
    Pending,
    /// <summary>Started and not finished.</summary>
    Running,
    /// <summary>Returned normally.</summary>
    Completed,
    /// <summary>Threw, was poisoned or was found non-deterministic; see <see cref="OrchestrationStatus.FailureDetails"/>.</summary>
    Failed,
    /// <summary>Stopped by <see cref="DurableClient.TerminateAsync"/>.</summary>
    Terminated,
    /// <summary>Paused by <see cref="DurableClient.SuspendAsync"/>; events are buffered until resumed.</summary>
    Suspended,
    /// <summary>Transitional: the execution called ContinueAsNew and the next one has not started yet.</summary>
    ContinuedAsNew,
}

/// <summary>Snapshot of an orchestration instance.</summary>
public sealed record OrchestrationStatus
{
    /// <summary>Instance id.</summary>
    public required string InstanceId { get; init; }
    /// <summary>Orchestrator name.</summary>
    public required string Name { get; init; }
    /// <summary>Current state.</summary>
    public OrchestrationRuntimeStatus RuntimeStatus { get; init; }
    /// <summary>When the instance (its current run) was created.</summary>
    public DateTime CreatedAt { get; init; }
    /// <summary>When the state was last written.</summary>
    public DateTime LastUpdatedAt { get; init; }
    /// <summary>Input as JSON.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(RawJsonConverter))]
    public string? Input { get; init; }
    /// <summary>Output as JSON (terminate reason for terminated instances).</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(RawJsonConverter))]
    public string? Output { get; init; }
    /// <summary>Custom status as JSON.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(RawJsonConverter))]
    public string? CustomStatus { get; init; }
    /// <summary>Why the instance failed.</summary>
    public FailureDetails? FailureDetails { get; init; }
    /// <summary>Execution number: 0 for the first run, +1 per ContinueAsNew or restart.</summary>
    public int Execution { get; init; }
    /// <summary>Event history of the current execution when requested.</summary>
    public IReadOnlyList<HistoryEvent>? History { get; init; }

    /// <summary>True for Completed, Failed and Terminated.</summary>
    [JsonIgnore]
    public bool IsTerminal => RuntimeStatus is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;

    /// <summary>Deserializes <see cref="Output"/>.</summary>
    public T? ReadOutputAs<T>() => Output is null ? default : Json.Deserialize<T>(Output);
    /// <summary>Deserializes <see cref="Input"/>.</summary>
    public T? ReadInputAs<T>() => Input is null ? default : Json.Deserialize<T>(Input);
    /// <summary>Deserializes <see cref="CustomStatus"/>.</summary>
    public T? ReadCustomStatusAs<T>() => CustomStatus is null ? default : Json.Deserialize<T>(CustomStatus);
}

/// <summary>Kinds of events in an orchestration history.</summary>
public enum HistoryEventType
{
    /// <summary>The execution started (name, input, parent).</summary>
    ExecutionStarted,
    /// <summary>An episode started; its timestamp is the replay-safe current time.</summary>
    OrchestratorStarted,
    /// <summary>An activity call was scheduled.</summary>
    TaskScheduled,
    /// <summary>An activity returned.</summary>
    TaskCompleted,
    /// <summary>An activity threw.</summary>
    TaskFailed,
    /// <summary>A durable timer was created.</summary>
    TimerCreated,
    /// <summary>A durable timer fired.</summary>
    TimerFired,
    /// <summary>A sub-orchestration was started.</summary>
    SubOrchestrationCreated,
    /// <summary>A sub-orchestration completed.</summary>
    SubOrchestrationCompleted,
    /// <summary>A sub-orchestration failed or was terminated.</summary>
    SubOrchestrationFailed,
    /// <summary>An external event arrived.</summary>
    EventRaised,
    /// <summary>The instance was suspended.</summary>
    ExecutionSuspended,
    /// <summary>The instance was resumed.</summary>
    ExecutionResumed,
    /// <summary>The instance was terminated.</summary>
    ExecutionTerminated,
    /// <summary>The execution finished (completed, failed or continued as new).</summary>
    ExecutionCompleted,
}

/// <summary>One event of an orchestration history. Payloads are JSON strings.</summary>
public sealed record HistoryEvent
{
    /// <summary>Event kind.</summary>
    public HistoryEventType Type { get; init; }
    /// <summary>Sequence number of a scheduled action (TaskScheduled, TimerCreated, SubOrchestrationCreated); -1 otherwise.</summary>
    public int EventId { get; init; } = -1;
    /// <summary>For completions: the <see cref="EventId"/> of the action they complete; -1 otherwise.</summary>
    public int TaskId { get; init; } = -1;
    /// <summary>When the event was recorded (UTC).</summary>
    public DateTime Timestamp { get; init; }
    /// <summary>Activity, orchestrator or event name.</summary>
    public string? Name { get; init; }
    /// <summary>Input JSON (execution, activity, sub-orchestration, event payload, terminate reason).</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(RawJsonConverter))]
    public string? Input { get; init; }
    /// <summary>Result JSON of a completion or of the execution.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(RawJsonConverter))]
    public string? Result { get; init; }
    /// <summary>Failure of a task or of the execution.</summary>
    public FailureDetails? Failure { get; init; }
    /// <summary>Fire time of a timer.</summary>
    public DateTime? FireAt { get; init; }
    /// <summary>Child instance id of a sub-orchestration.</summary>
    public string? ChildInstanceId { get; init; }
    /// <summary>Final status carried by ExecutionCompleted.</summary>
    public OrchestrationRuntimeStatus? Status { get; init; }
    /// <summary>Parent of a sub-orchestration, on its ExecutionStarted.</summary>
    public ParentInstance? Parent { get; init; }
}

/// <summary>Identifies the parent's waiting task of a sub-orchestration.</summary>
/// <param name="InstanceId">Parent instance id.</param>
/// <param name="Execution">Parent execution number.</param>
/// <param name="TaskId">Event id of the SubOrchestrationCreated action in the parent.</param>
public sealed record ParentInstance(string InstanceId, int Execution, int TaskId);

/// <summary>Filter of <see cref="DurableClient.QueryAsync"/>. Null members do not filter.</summary>
public sealed record OrchestrationQuery
{
    /// <summary>Keep instances in one of these states.</summary>
    public IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses { get; init; }
    /// <summary>Keep instances created at or after this time.</summary>
    public DateTime? CreatedFrom { get; init; }
    /// <summary>Keep instances created before this time.</summary>
    public DateTime? CreatedTo { get; init; }
    /// <summary>Keep instances whose orchestrator name starts with this (ordinal).</summary>
    public string? NamePrefix { get; init; }
    /// <summary>Keep instances whose id starts with this (ordinal; served by the table index).</summary>
    public string? InstanceIdPrefix { get; init; }
    /// <summary>Maximum number of results (1..1000, default 100).</summary>
    public int Top { get; init; } = 100;
}
