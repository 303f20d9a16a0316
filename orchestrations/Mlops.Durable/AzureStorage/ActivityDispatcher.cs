using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Durable.Core;

namespace Mlops.Durable.AzureStorage;

/// <summary>
/// Runs activities: those this worker's own episodes schedule (handed over in-process while their queue copy stays
/// invisible as the crash backup) and those polled from the shared work-item queue (competing consumers). A result
/// for an instance whose partition this worker owns goes straight to its session, with the work item as its durable
/// copy until the checkpoint; otherwise it is sent to the instance's control queue.
/// </summary>
internal sealed class ActivityDispatcher
{
    private readonly TaskHubStorage storage;
    private readonly DurableWorkerOptions options;
    private readonly DurableRegistry registry;
    private readonly IServiceProvider? services;
    private readonly ILogger logger;
    private readonly SemaphoreSlim slots;
    private readonly CancellationToken stopping;
    private int running;

    public ActivityDispatcher(TaskHubStorage storage, DurableWorkerOptions options, DurableRegistry registry, IServiceProvider? services, ILogger logger, CancellationToken stopping)
    {
        this.storage = storage;
        this.options = options;
        this.registry = registry;
        this.services = services;
        this.logger = logger;
        this.stopping = stopping;
        slots = new SemaphoreSlim(options.MaxConcurrentActivities);
    }

    public OrchestrationDispatcher Orchestrations { get; set; } = null!;
    public PartitionManager Partitions { get; set; } = null!;

    /// <summary>Activities currently executing in this process.</summary>
    public int Running => Volatile.Read(ref running);

    /// <summary>Takes a slot for an activity about to be scheduled by a local episode (no waiting).</summary>
    public bool TryReserve() => !stopping.IsCancellationRequested && slots.Wait(0);

    /// <summary>Runs an activity for which <see cref="TryReserve"/> returned true.</summary>
    public void RunLocal(WireMessage message, QueueAnchor anchor) => _ = Task.Run(() => ExecuteAsync(message, anchor));

    public async Task PumpAsync(CancellationToken cancellationToken)
    {
        var signal = TaskHubStorage.SignalFor(storage.WorkItems);
        var interval = options.MinPollingInterval;
        while (!cancellationToken.IsCancellationRequested)
        {
            int reserved = 0;
            try
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                reserved = 1;
                while (reserved < options.BatchSize && slots.Wait(0)) reserved++;
                var received = await storage.ReceiveAsync(storage.WorkItems, reserved, options.VisibilityTimeout, cancellationToken).ConfigureAwait(false);
                foreach (var (anchor, message, raw) in received)
                {
                    reserved--;
                    if (message is null) { await Orchestrations.PoisonAsync(anchor, null, raw, "unreadable work item", cancellationToken).ConfigureAwait(false); slots.Release(); }
                    else if (Orchestrations.PoisonReason(message, anchor, $"activity '{message.Event.Name}' (task {message.Event.EventId})") is { } reason)
                    {
                        await Orchestrations.PoisonAsync(anchor, message, raw, reason, cancellationToken).ConfigureAwait(false);
                        slots.Release();
                    }
                    else _ = Task.Run(() => ExecuteAsync(message, anchor), CancellationToken.None);
                }
                if (reserved > 0) { slots.Release(reserved); reserved = 0; }
                if (received.Count == 0)
                {
                    await signal.WaitAsync(interval, cancellationToken).ConfigureAwait(false);
                    interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, options.MaxPollingInterval.Ticks));
                }
                else interval = options.MinPollingInterval;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { if (reserved > 0) slots.Release(reserved); break; }
            catch (Exception e)
            {
                if (reserved > 0) slots.Release(reserved);
                logger.StorageUnavailable("workitems", interval, e);
                try { await Task.Delay(interval, cancellationToken).ConfigureAwait(false); } catch (OperationCanceledException) { break; }
                interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, options.MaxPollingInterval.Ticks));
            }
        }
    }

    /// <summary>Waits until running activities have finished (or <paramref name="cancellationToken"/> fires).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (Running > 0 && !cancellationToken.IsCancellationRequested) await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task ExecuteAsync(WireMessage message, QueueAnchor anchor)
    {
        Interlocked.Increment(ref running);
        using var renewal = new CancellationTokenSource();
        try
        {
            var scheduled = message.Event;
            string name = scheduled.Name ?? "";
            // One DI scope per call, so activities may depend on scoped services (disposed when the call ends).
            await using var scope = (services?.GetService(typeof(IServiceScopeFactory)) as IServiceScopeFactory)?.CreateAsyncScope();
            if (!registry.TryCreateActivity(name, scope?.ServiceProvider ?? services, out var activity))
            {
                // Another worker (e.g. a newer deployment) may know it; after MaxDequeueCount deliveries it is poisoned.
                logger.LogWarning("Activity '{Activity}' is not registered in this worker; returning the work item.", name);
                await Orchestrations.RetryLaterAsync(new PendingMessage(message, anchor), new OrchestrationDispatcher.CloudQueueLike(storage.WorkItems),
                    TimeSpan.FromMilliseconds(200), $"activity '{name}' (task {scheduled.EventId})", stopping).ConfigureAwait(false);
                return;
            }
            _ = RenewAsync(anchor, renewal.Token);
            var context = new WorkItemContext(message, Math.Max(1, anchor.DequeueCount), stopping);
            HistoryEvent result;
            try
            {
                object? output = await activity.RunAsync(context).ConfigureAwait(false);
                result = new HistoryEvent { Type = HistoryEventType.TaskCompleted, TaskId = scheduled.EventId, Result = DurableJson.Serialize(output), Timestamp = DateTime.UtcNow };
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                renewal.Cancel();
                await storage.SetVisibilityAsync(anchor, TimeSpan.Zero, release: true).ConfigureAwait(false);
                return;
            }
            catch (Exception e)
            {
                result = new HistoryEvent { Type = HistoryEventType.TaskFailed, TaskId = scheduled.EventId, Failure = FailureDetails.FromException(e), Timestamp = DateTime.UtcNow };
            }
            renewal.Cancel();
            var reply = new WireMessage { InstanceId = message.InstanceId, Execution = message.Execution, Event = result };
            if (Partitions.Owns(storage.PartitionOf(message.InstanceId)))
                Orchestrations.Deliver(new PendingMessage(reply, anchor));   // the work item is deleted after the checkpoint
            else
            {
                await storage.SendAsync(storage.ControlQueueFor(message.InstanceId), reply).ConfigureAwait(false);
                await storage.DeleteAsync(anchor).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // Storage trouble while reporting: the work item reappears after its visibility timeout and runs again.
            logger.StorageUnavailable("activity result", options.VisibilityTimeout, e);
            storage.Forget(anchor);
        }
        finally
        {
            renewal.Cancel();
            Interlocked.Decrement(ref running);
            slots.Release();
        }
    }

    private async Task RenewAsync(QueueAnchor anchor, CancellationToken cancellationToken)
    {
        var every = TimeSpan.FromTicks(options.VisibilityTimeout.Ticks / 2);
        try
        {
            while (true)
            {
                await Task.Delay(every, cancellationToken).ConfigureAwait(false);
                await storage.SetVisibilityAsync(anchor, options.VisibilityTimeout, release: false, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception) { /* canceled, or storage down: the work item may be redelivered, which is allowed */ }
    }

    private sealed class WorkItemContext(WireMessage message, int deliveryCount, CancellationToken cancellationToken) : ActivityContext
    {
        public override string InstanceId => message.InstanceId;
        public override string Name => message.Event.Name ?? "";
        public override string IdempotencyKey => $"{message.InstanceId}:{message.Execution}:{message.Event.EventId}";
        public override int DeliveryCount => deliveryCount;
        public override T GetInput<T>() => DurableJson.Deserialize<T>(message.Event.Input);
        public override CancellationToken CancellationToken => cancellationToken;
    }
}
