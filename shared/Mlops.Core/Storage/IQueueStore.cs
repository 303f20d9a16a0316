namespace Mlops.Core.Storage;

/// <summary>A message taken from a queue. <see cref="PopReceipt"/> proves ownership for delete/update.</summary>
public sealed record QueueMessage(
    string Id,
    string PopReceipt,
    string Text,
    int DequeueCount,
    DateTimeOffset? InsertedOn
);

/// <summary>
/// Port for storage queues: at-least-once delivery with a visibility timeout. Delayed messages implement timers;
/// batch dequeues save round trips (Azurite manages only hundreds of queue operations a second).
/// </summary>
public interface IQueueStore
{
    /// <summary>Adds a message, invisible for <paramref name="initialVisibilityDelay"/> when given (durable
    /// timers).</summary>
    Task EnqueueAsync(
        string queue,
        string text,
        TimeSpan? initialVisibilityDelay = null,
        CancellationToken cancellationToken = default
    );

    /// <summary>Takes up to <paramref name="maxMessages"/> (1..32) messages, hiding them for <paramref
    /// name="visibilityTimeout"/>.</summary>
    Task<IReadOnlyList<QueueMessage>> DequeueAsync(
        string queue,
        int maxMessages,
        TimeSpan visibilityTimeout,
        CancellationToken cancellationToken = default
    );

    /// <summary>Deletes a processed message. Returns false when the message was already gone or its receipt
    /// expired.</summary>
    Task<bool> DeleteAsync(string queue, QueueMessage message, CancellationToken cancellationToken = default);

    /// <summary>Makes a message visible again after <paramref name="delay"/> (abandon with back-off). Returns the
    /// updated message.</summary>
    Task<QueueMessage?> AbandonAsync(
        string queue,
        QueueMessage message,
        TimeSpan delay,
        CancellationToken cancellationToken = default
    );

    /// <summary>Approximate number of messages (monitoring, tests).</summary>
    Task<int> CountAsync(string queue, CancellationToken cancellationToken = default);
}
