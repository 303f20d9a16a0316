using System.Collections.Concurrent;
using System.Text;
using Azure;
using Azure.Storage.Queues;
using Mlops.Core.Storage;
using SdkQueueMessage = Azure.Storage.Queues.Models.QueueMessage;

namespace Mlops.Storage.Azure;

/// <summary>
/// <see cref="IQueueStore"/> on Azure.Storage.Queues. Queues are created lazily on the first QueueNotFound. Message
/// bodies are Base64 UTF-8, the encoding the Functions queue trigger expects by default (and the old SDK wrote).
/// </summary>
public sealed class AzureQueueStore : IQueueStore
{
    // The service caps the initial visibility delay at 7 days; stay under it and let callers re-delay long timers.
    private static readonly TimeSpan MaxVisibilityDelay = TimeSpan.FromDays(6);

    // -1 s means "never expires": a queued pipeline step must not silently vanish after the default 7 days.
    private static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);

    private readonly QueueServiceClient _service;
    private readonly ConcurrentDictionary<string, QueueClient> _queues = new(StringComparer.Ordinal);

    /// <summary>Creates the store over a service client (see <see cref="AzureStorageAccount"/>).</summary>
    public AzureQueueStore(QueueServiceClient service) => _service = service;

    private QueueClient Queue(string name) => _queues.GetOrAdd(name, _service.GetQueueClient);

    /// <inheritdoc />
    public Task EnqueueAsync(
        string queue,
        string text,
        TimeSpan? initialVisibilityDelay = null,
        CancellationToken cancellationToken = default
    )
    {
        TimeSpan? delay =
            initialVisibilityDelay is { } d && d > TimeSpan.Zero
                ? (d > MaxVisibilityDelay ? MaxVisibilityDelay : d)
                : null;
        string body = Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        var client = Queue(queue);
        return AzureErrors.GuardAsync(
            $"enqueue {queue}",
            async () =>
            {
                try
                {
                    await client.SendMessageAsync(body, delay, NeverExpires, cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    await client.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    await client.SendMessageAsync(body, delay, NeverExpires, cancellationToken).ConfigureAwait(false);
                }
                return true;
            },
            cancellationToken
        );
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<QueueMessage>> DequeueAsync(
        string queue,
        int maxMessages,
        TimeSpan visibilityTimeout,
        CancellationToken cancellationToken = default
    ) =>
        AzureErrors.GuardAsync(
            $"dequeue {queue}",
            async () =>
            {
                try
                {
                    SdkQueueMessage[] messages = (
                        await Queue(queue)
                            .ReceiveMessagesAsync(Math.Clamp(maxMessages, 1, 32), visibilityTimeout, cancellationToken)
                            .ConfigureAwait(false)
                    ).Value;
                    return (IReadOnlyList<QueueMessage>)
                        Array.ConvertAll(messages, m => new QueueMessage(
                            m.MessageId,
                            m.PopReceipt,
                            Decode(m.Body),
                            (int)m.DequeueCount,
                            m.InsertedOn
                        ));
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return Array.Empty<QueueMessage>();
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string queue, QueueMessage message, CancellationToken cancellationToken = default) =>
        AzureErrors.GuardAsync(
            $"delete message from {queue}",
            async () =>
            {
                try
                {
                    await Queue(queue)
                        .DeleteMessageAsync(message.Id, message.PopReceipt, cancellationToken)
                        .ConfigureAwait(false);
                    return true;
                }
                // 404: already deleted, or the receipt expired and someone else holds the message now; 400: receipt
                // malformed.
                catch (RequestFailedException e) when (e.Status is 404 or 400)
                {
                    return false;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<QueueMessage?> AbandonAsync(
        string queue,
        QueueMessage message,
        TimeSpan delay,
        CancellationToken cancellationToken = default
    ) =>
        AzureErrors.GuardAsync(
            $"abandon message in {queue}",
            async () =>
            {
                try
                {
                    var receipt = (
                        await Queue(queue)
                            .UpdateMessageAsync(
                                message.Id,
                                message.PopReceipt,
                                visibilityTimeout: delay,
                                cancellationToken: cancellationToken
                            )
                            .ConfigureAwait(false)
                    ).Value;
                    return message with { PopReceipt = receipt.PopReceipt };
                }
                catch (RequestFailedException e) when (e.Status is 404 or 400)
                {
                    return null;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<int> CountAsync(string queue, CancellationToken cancellationToken = default) =>
        AzureErrors.GuardAsync(
            $"count {queue}",
            async () =>
            {
                try
                {
                    return (await Queue(queue).GetPropertiesAsync(cancellationToken).ConfigureAwait(false))
                        .Value
                        .ApproximateMessagesCount;
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return 0;
                }
            },
            cancellationToken
        );

    /// <summary>Base64 UTF-8 as written by this store; a message another writer put in plain text is returned as
    /// is.</summary>
    private static string Decode(BinaryData body)
    {
        string raw = body.ToString();
        var buffer = new byte[raw.Length * 3 / 4 + 3];
        return Convert.TryFromBase64String(raw, buffer, out int written)
            ? Encoding.UTF8.GetString(buffer, 0, written)
            : raw;
    }
}
