using Mlops.Core.Storage;

namespace Mlops.Storage.InMemory;

/// <summary>In-process double of <see cref="IQueueStore"/>: visibility timeouts, dequeue counts and pop receipts like
/// Azure queues.</summary>
public sealed class InMemoryQueueStore : IQueueStore
{
    private sealed class Message
    {
        public required string Id;
        public required string Text;
        public string PopReceipt = "";
        public int DequeueCount;
        public DateTimeOffset VisibleAt;
        public DateTimeOffset InsertedOn;
    }

    private readonly Dictionary<string, List<Message>> _queues = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    private List<Message> Queue(string name)
    {
        if (!_queues.TryGetValue(name, out var q))
            _queues[name] = q = new List<Message>();
        return q;
    }

    public Task EnqueueAsync(
        string queue,
        string text,
        TimeSpan? initialVisibilityDelay = null,
        CancellationToken cancellationToken = default
    )
    {
        var now = DateTimeOffset.UtcNow;
        lock (_gate)
            Queue(queue)
                .Add(
                    new Message
                    {
                        Id = Guid.NewGuid().ToString(),
                        Text = text,
                        VisibleAt = now + (initialVisibilityDelay ?? TimeSpan.Zero),
                        InsertedOn = now,
                    }
                );
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<QueueMessage>> DequeueAsync(
        string queue,
        int maxMessages,
        TimeSpan visibilityTimeout,
        CancellationToken cancellationToken = default
    )
    {
        var now = DateTimeOffset.UtcNow;
        var taken = new List<QueueMessage>();
        lock (_gate)
        {
            foreach (var m in Queue(queue))
            {
                if (taken.Count >= Math.Clamp(maxMessages, 1, 32))
                    break;
                if (m.VisibleAt > now)
                    continue;
                m.DequeueCount++;
                m.PopReceipt = Guid.NewGuid().ToString();
                m.VisibleAt = now + visibilityTimeout;
                taken.Add(new QueueMessage(m.Id, m.PopReceipt, m.Text, m.DequeueCount, m.InsertedOn));
            }
        }
        return Task.FromResult<IReadOnlyList<QueueMessage>>(taken);
    }

    public Task<bool> DeleteAsync(string queue, QueueMessage message, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult(
                Queue(queue).RemoveAll(m => m.Id == message.Id && m.PopReceipt == message.PopReceipt) > 0
            );
    }

    public Task<QueueMessage?> AbandonAsync(
        string queue,
        QueueMessage message,
        TimeSpan delay,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
        {
            var m = Queue(queue).FirstOrDefault(x => x.Id == message.Id && x.PopReceipt == message.PopReceipt);
            if (m is null)
                return Task.FromResult<QueueMessage?>(null);
            m.PopReceipt = Guid.NewGuid().ToString();
            m.VisibleAt = DateTimeOffset.UtcNow + delay;
            return Task.FromResult<QueueMessage?>(message with { PopReceipt = m.PopReceipt });
        }
    }

    public Task<int> CountAsync(string queue, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult(Queue(queue).Count);
    }
}
