using Microsoft.Extensions.Logging;

namespace Mlops.Durable.AzureStorage;

/// <summary>Structured log messages of the engine, with fixed event ids.</summary>
internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Worker {WorkerId} started on task hub {Hub} ({Partitions} partitions).")]
    public static partial void WorkerStarted(this ILogger logger, string workerId, string hub, int partitions);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Worker {WorkerId} stopped.")]
    public static partial void WorkerStopped(this ILogger logger, string workerId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Worker {WorkerId} acquired partition {Partition}.")]
    public static partial void PartitionAcquired(this ILogger logger, string workerId, int partition);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Worker {WorkerId} released partition {Partition}.")]
    public static partial void PartitionReleased(this ILogger logger, string workerId, int partition);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Instance {InstanceId}: another worker advanced it first (ETag conflict); episode discarded.")]
    public static partial void SplitBrainAvoided(this ILogger logger, string instanceId);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Episode of {InstanceId} failed; its messages will be redelivered.")]
    public static partial void EpisodeFailed(this ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Message {MessageId} for {InstanceId} moved to the poison queue: {Reason}")]
    public static partial void Poisoned(this ILogger logger, string messageId, string instanceId, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Storage call failed in {Component}; retrying after {Delay}.")]
    public static partial void StorageUnavailable(this ILogger logger, string component, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Instance {InstanceId} is {Status}.")]
    public static partial void InstanceFinished(this ILogger logger, string instanceId, OrchestrationRuntimeStatus status);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Message for {InstanceId} deferred ({Defers}): {Why}.")]
    public static partial void Deferred(this ILogger logger, string instanceId, int defers, string why);
}
