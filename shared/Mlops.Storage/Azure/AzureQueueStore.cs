using System.Collections.Concurrent;
using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Queue;
using Mlops.Core.Storage;

namespace Mlops.Storage.Azure;

/// <summary><see cref="IQueueStore"/> on WindowsAzure.Storage 9.3.3. Queues are created lazily on the first 404.</summary>
public sealed class AzureQueueStore : IQueueStore
{
    private readonly CloudQueueClient _client;
    private readonly ConcurrentDictionary<string, CloudQueue> _queues = new();

    public AzureQueueStore(CloudStorageAccount account)
    {
        _client = account.CreateCloudQueueClient();
        _client.DefaultRequestOptions.RetryPolicy = AzureStorageAccount.RetryPolicy;
        _client.DefaultRequestOptions.MaximumExecutionTime = AzureStorageAccount.MaximumExecutionTime;
    }

    private CloudQueue Queue(string name) => _queues.GetOrAdd(name, n => _client.GetQueueReference(n));

    public async Task EnqueueAsync(string queue, string text, TimeSpan? initialVisibilityDelay = null, CancellationToken cancellationToken = default)
    {
        var q = Queue(queue);
        var delay = initialVisibilityDelay is { } d && d > TimeSpan.Zero ? (d > TimeSpan.FromDays(6) ? TimeSpan.FromDays(6) : d) : (TimeSpan?)null;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                // TTL -1 (never expire): a queued pipeline step must not silently vanish after the default 7 days.
                await q.AddMessageAsync(new CloudQueueMessage(text), TimeSpan.FromSeconds(-1), delay, null, null, cancellationToken);
                return;
            }
            catch (StorageException e) when (AzureErrors.IsNotFound(e) && attempt == 0) { await CreateAsync(q); }
            catch (StorageException e) { throw AzureErrors.Translate(e, $"enqueue {queue}"); }
        }
    }

    public async Task<IReadOnlyList<QueueMessage>> DequeueAsync(string queue, int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        try
        {
            var messages = await Queue(queue).GetMessagesAsync(Math.Clamp(maxMessages, 1, 32), visibilityTimeout, null, null, cancellationToken);
            return messages.Select(m => new QueueMessage(m.Id, m.PopReceipt, m.AsString, m.DequeueCount, m.InsertionTime)).ToList();
        }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return Array.Empty<QueueMessage>(); }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"dequeue {queue}"); }
    }

    public async Task<bool> DeleteAsync(string queue, QueueMessage message, CancellationToken cancellationToken = default)
    {
        try { await Queue(queue).DeleteMessageAsync(message.Id, message.PopReceipt, null, null, cancellationToken); return true; }
        catch (StorageException e) when (AzureErrors.Status(e) is 404 or 400) { return false; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"delete message from {queue}"); }
    }

    public async Task<QueueMessage?> AbandonAsync(string queue, QueueMessage message, TimeSpan delay, CancellationToken cancellationToken = default)
    {
        var m = new CloudQueueMessage(message.Id, message.PopReceipt);
        try
        {
            await Queue(queue).UpdateMessageAsync(m, delay, MessageUpdateFields.Visibility, null, null, cancellationToken);
            return message with { PopReceipt = m.PopReceipt };
        }
        catch (StorageException e) when (AzureErrors.Status(e) is 404 or 400) { return null; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"abandon message in {queue}"); }
    }

    public async Task<int> CountAsync(string queue, CancellationToken cancellationToken = default)
    {
        var q = Queue(queue);
        try { await q.FetchAttributesAsync(null, null, cancellationToken); return q.ApproximateMessageCount ?? 0; }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return 0; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"count {queue}"); }
    }

    private static async Task CreateAsync(CloudQueue q)
    {
        try { await q.CreateIfNotExistsAsync(); }
        catch (StorageException e) when (AzureErrors.Status(e) == 409) { }
    }
}
