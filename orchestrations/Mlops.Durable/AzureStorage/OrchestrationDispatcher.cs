using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.WindowsAzure.Storage;
using Mlops.Core;
using Mlops.Durable.Core;

namespace Mlops.Durable.AzureStorage;

/// <summary>
/// Runs orchestration episodes. Messages for one instance (from its control queue, or handed over in-process) gather
/// in a session; one episode at a time takes everything pending, replays, and checkpoints. The checkpoint order makes
/// every crash point safe: (1) send outbound messages, (2) append history + instance row in one ETag-guarded batch,
/// (3) delete the consumed messages. A crash before (2) replays the episode (duplicate sends are de-duplicated by
/// event id); a crash before (3) redelivers messages that are then recognised as already applied.
/// </summary>
internal sealed class OrchestrationDispatcher
{
    private const int MaxDefers = 25;
    private readonly TaskHubStorage storage;
    private readonly DurableWorkerOptions options;
    private readonly DurableRegistry registry;
    private readonly IServiceProvider? services;
    private readonly ILoggerFactory loggerFactory;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<string, Session> sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, InstanceState> cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, CancellationTokenSource> pumps = new();
    private readonly SemaphoreSlim episodeSlots;
    private readonly CancellationToken stopping;
    private int inFlight;

    public OrchestrationDispatcher(TaskHubStorage storage, DurableWorkerOptions options, DurableRegistry registry, IServiceProvider? services,
        ILoggerFactory loggerFactory, CancellationToken stopping)
    {
        this.storage = storage;
        this.options = options;
        this.registry = registry;
        this.services = services;
        this.loggerFactory = loggerFactory;
        logger = loggerFactory.CreateLogger("Mlops.Durable.Orchestrations");
        episodeSlots = new SemaphoreSlim(options.MaxConcurrentOrchestrations);
        this.stopping = stopping;
    }

    public PartitionManager Partitions { get; set; } = null!;
    public ActivityDispatcher Activities { get; set; } = null!;

    /// <summary>Episodes running or queued.</summary>
    public int InFlight => Volatile.Read(ref inFlight);

    // ---- partition pumps --------------------------------------------------------------------------------------

    public void StartPump(int partition)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (pumps.TryAdd(partition, cts)) _ = Task.Run(() => PumpAsync(partition, cts.Token));
        else cts.Dispose();
    }

    public void StopPump(int partition)
    {
        if (pumps.TryRemove(partition, out var cts)) { cts.Cancel(); cts.Dispose(); }
        foreach (var key in cache.Keys)
            if (storage.PartitionOf(key) == partition) cache.TryRemove(key, out _);
    }

    private async Task PumpAsync(int partition, CancellationToken cancellationToken)
    {
        var queue = storage.Control[partition];
        var signal = TaskHubStorage.SignalFor(queue);
        var interval = options.MinPollingInterval;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // Back-pressure: don't pull more while this process is saturated with episodes.
                if (Volatile.Read(ref inFlight) > options.MaxConcurrentOrchestrations * 4)
                {
                    await Task.Delay(20, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (!Partitions.Owns(partition))
                {
                    await Task.Delay(options.MinPollingInterval, cancellationToken).ConfigureAwait(false);   // lease lapsing; pump stops soon
                    continue;
                }
                var received = await storage.ReceiveAsync(queue, options.BatchSize, options.VisibilityTimeout, cancellationToken).ConfigureAwait(false);
                if (received.Count == 0)
                {
                    await signal.WaitAsync(interval, cancellationToken).ConfigureAwait(false);
                    interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, options.MaxPollingInterval.Ticks));
                    continue;
                }
                interval = options.MinPollingInterval;
                foreach (var (anchor, message, raw) in received)
                {
                    if (message is null) await PoisonAsync(anchor, null, raw, "unreadable message", cancellationToken).ConfigureAwait(false);
                    else if (PoisonReason(message, anchor, $"control message {message.Event.Type}") is { } reason)
                        await PoisonAsync(anchor, message, raw, reason, cancellationToken).ConfigureAwait(false);
                    else Deliver(new PendingMessage(message, anchor));
                }
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                logger.StorageUnavailable($"control-{partition:D2}", interval, e);
                try { await Task.Delay(interval, cancellationToken).ConfigureAwait(false); } catch (OperationCanceledException) { break; }
                interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, options.MaxPollingInterval.Ticks));
            }
        }
    }

    /// <summary>
    /// Why a received message must be dead-lettered, or null. Failed processing attempts count against
    /// <see cref="DurableWorkerOptions.MaxDequeueCount"/>; raw deliveries (which also grow with crashes and slow
    /// episodes) only against four times that, which still stops a message that kills every process it reaches.
    /// </summary>
    internal string? PoisonReason(WireMessage message, QueueAnchor anchor, string what)
    {
        if (message.Failures >= options.MaxDequeueCount) return $"{what} failed {message.Failures} times";
        if (anchor.DequeueCount > options.MaxDequeueCount * 4) return $"{what} was delivered {anchor.DequeueCount} times without being processed";
        return null;
    }

    /// <summary>
    /// Returns a message whose processing threw: re-sent with its failure count raised (after a back-off), or
    /// dead-lettered when it has failed too often. If even that fails (storage down) it reappears on its own.
    /// </summary>
    internal async Task RetryLaterAsync(PendingMessage pm, CloudQueueLike target, TimeSpan delay, string what, CancellationToken cancellationToken)
    {
        var m = pm.Message with { Failures = pm.Message.Failures + 1 };
        if (m.Failures >= options.MaxDequeueCount)
        {
            var anchor = pm.Anchor ?? await storage.SendAsync(target.Queue, m, TimeSpan.FromDays(1), wake: false, cancellationToken).ConfigureAwait(false);
            await PoisonAsync(anchor, m, Json.Serialize(m), $"{what} failed {m.Failures} times", cancellationToken).ConfigureAwait(false);
            return;
        }
        await storage.SendAsync(target.Queue, m, delay * m.Failures, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (pm.Anchor is not null) await storage.DeleteAsync(pm.Anchor, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves a message to the poison queue and fails its instance, so it is neither retried forever nor lost.</summary>
    internal async Task PoisonAsync(QueueAnchor anchor, WireMessage? message, string raw, string reason, CancellationToken cancellationToken)
    {
        logger.Poisoned(anchor.Id, message?.InstanceId ?? "?", reason);
        await storage.Poison.AddMessageAsync(new Microsoft.WindowsAzure.Storage.Queue.CloudQueueMessage(
            Json.Serialize(new { reason, queue = anchor.Queue.Name, instanceId = message?.InstanceId, message = raw })), null, null, null, null, cancellationToken).ConfigureAwait(false);
        storage.Count();
        if (message is not null && message.Event.Type != HistoryEventType.ExecutionCompleted)
        {
            var fail = new HistoryEvent
            {
                Type = HistoryEventType.ExecutionCompleted, Status = OrchestrationRuntimeStatus.Failed, Timestamp = DateTime.UtcNow,
                Failure = new FailureDetails("Mlops.Durable.PoisonMessage", $"Poison message: {reason}."),
            };
            await SendToInstanceAsync(new WireMessage { InstanceId = message.InstanceId, Execution = -1, Event = fail }, cancellationToken).ConfigureAwait(false);
        }
        await storage.DeleteAsync(anchor, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a control message; if this worker owns the target partition, also hands it over in-process.</summary>
    internal async Task SendToInstanceAsync(WireMessage message, CancellationToken cancellationToken)
    {
        var queue = storage.ControlQueueFor(message.InstanceId);
        if (Partitions.Owns(storage.PartitionOf(message.InstanceId)))
        {
            var anchor = await storage.SendAsync(queue, message, options.VisibilityTimeout, wake: false, cancellationToken, hold: true).ConfigureAwait(false);
            Deliver(new PendingMessage(message, anchor));
        }
        else await storage.SendAsync(queue, message, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    // ---- sessions ---------------------------------------------------------------------------------------------

    private sealed class Session(string instanceId)
    {
        public string InstanceId { get; } = instanceId;
        public List<PendingMessage> Pending { get; } = new();
        public bool Running;
        public bool Removed;
    }

    /// <summary>Queues a message for its instance and starts an episode if none is running.</summary>
    public void Deliver(PendingMessage message)
    {
        while (true)
        {
            var session = sessions.GetOrAdd(message.Message.InstanceId, id => new Session(id));
            lock (session)
            {
                if (session.Removed) continue;
                session.Pending.Add(message);
                if (session.Running) return;
                session.Running = true;
            }
            Interlocked.Increment(ref inFlight);
            _ = Task.Run(() => RunSessionAsync(session));
            return;
        }
    }

    private async Task RunSessionAsync(Session session)
    {
        try
        {
            while (true)
            {
                List<PendingMessage> batch;
                lock (session)
                {
                    if (session.Pending.Count == 0)
                    {
                        session.Running = false;
                        session.Removed = true;
                        sessions.TryRemove(new KeyValuePair<string, Session>(session.InstanceId, session));
                        return;
                    }
                    batch = session.Pending.ToList();
                    session.Pending.Clear();
                }
                await episodeSlots.WaitAsync().ConfigureAwait(false);
                try { await RunEpisodeWithRetryAsync(session.InstanceId, batch).ConfigureAwait(false); }
                finally { episodeSlots.Release(); }
            }
        }
        finally { Interlocked.Decrement(ref inFlight); }
    }

    private async Task RunEpisodeWithRetryAsync(string instanceId, List<PendingMessage> batch)
    {
        try
        {
            if (!Partitions.Owns(storage.PartitionOf(instanceId)))
            {
                // Partition moved (or our lease lapsed): hand the messages back for whoever owns it. Not at once, so
                // a lapsed lease cannot turn into a receive/return loop that inflates dequeue counts.
                await Task.WhenAll(batch.Where(m => m.Anchor is not null).Select(m => storage.SetVisibilityAsync(m.Anchor!, TimeSpan.FromSeconds(1), release: true))).ConfigureAwait(false);
                return;
            }
            for (int attempt = 1; ; attempt++)
            {
                if (await RunEpisodeAsync(instanceId, batch, stopping).ConfigureAwait(false)) return;
                // Lost an ETag race: our cached copy was stale or another worker advanced the instance. Retry once
                // with a fresh read, then give the messages back to the queue.
                logger.SplitBrainAvoided(instanceId);
                cache.TryRemove(instanceId, out _);
                if (attempt >= 2)
                {
                    await AbandonAsync(batch, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception e)
        {
            cache.TryRemove(instanceId, out _);
            if (stopping.IsCancellationRequested) { await AbandonAsync(batch, TimeSpan.Zero).ConfigureAwait(false); return; }
            logger.EpisodeFailed(instanceId, e);
            try
            {
                var target = new CloudQueueLike(storage.ControlQueueFor(instanceId));
                await Task.WhenAll(batch.Select(m => RetryLaterAsync(m, target, TimeSpan.FromMilliseconds(500), $"control message {m.Message.Event.Type}", stopping))).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Storage is failing too: leave the messages to reappear after their visibility timeout.
                foreach (var m in batch) if (m.Anchor is not null) storage.Forget(m.Anchor);
            }
        }
    }

    private async Task AbandonAsync(IEnumerable<PendingMessage> batch, TimeSpan delay)
    {
        try
        {
            await Task.WhenAll(batch.Where(m => m.Anchor is not null)
                .Select(m => storage.SetVisibilityAsync(m.Anchor!, delay * Math.Max(1, m.Anchor!.DequeueCount), release: true))).ConfigureAwait(false);
        }
        catch (Exception) { /* the messages reappear after their visibility timeout anyway */ }
    }

    // ---- one episode ------------------------------------------------------------------------------------------

    private enum Verdict { Apply, Drop, Defer }

    /// <summary>Runs one episode; false if the checkpoint lost an ETag race.</summary>
    private async Task<bool> RunEpisodeAsync(string instanceId, List<PendingMessage> batch, CancellationToken cancellationToken)
    {
        InstanceState? state = cache.TryGetValue(instanceId, out var cached) ? cached : null;
        bool fromStorage = state is null;
        if (state is null)
        {
            int hint = batch.Select(m => m.Message.Execution).DefaultIfEmpty(-1).Max();
            state = await storage.LoadAsync(instanceId, hint, cancellationToken).ConfigureAwait(false);
        }
        var record = state?.Record.Clone();
        var history = state?.History ?? [];
        var now = DateTime.UtcNow;
        if (history.Count > 0 && history[^1].Timestamp > now) now = history[^1].Timestamp;   // keep replay time monotonic

        var scheduled = new Dictionary<int, HistoryEventType>();
        var completed = new HashSet<int>();
        foreach (var e in history) Track(e);

        var accepted = new List<HistoryEvent>();
        var consumed = new List<QueueAnchor>();
        var deferred = new List<(PendingMessage, string)>();
        var early = new List<PendingMessage>();
        bool startedNow = false;
        bool redelivered = false;   // a message this instance already applied came back: an episode may have died mid-way

        // ExecutionStarted first so events that arrived in the same batch apply to the new execution.
        foreach (var pm in batch.OrderBy(m => m.Message.Event.Type == HistoryEventType.ExecutionStarted ? 0 : 1))
        {
            var m = pm.Message;
            var e = m.Event;
            Verdict verdict;
            string why = "";
            if (e.Type == HistoryEventType.ExecutionStarted)
            {
                verdict = Verdict.Drop;
                if (startedNow) { }
                else if (record is null)
                {
                    if (e.Parent is not null || m.Execution > 0)
                    {
                        record = new InstanceRecord { InstanceId = instanceId, Name = e.Name ?? "", Execution = Math.Max(0, m.Execution), CreatedAt = now, Input = e.Input, Parent = e.Parent };
                        verdict = Verdict.Apply;
                    }
                }
                else if (record.Execution == m.Execution && record.Status == OrchestrationRuntimeStatus.Pending && history.Count == 0)
                    verdict = Verdict.Apply;
                else if ((record.Status == OrchestrationRuntimeStatus.ContinuedAsNew && m.Execution == record.Execution + 1)
                         || (record.IsTerminal && e.Parent is not null && e.Parent != record.Parent))
                {
                    // ContinueAsNew, or a parent reusing the id of a finished child: start the next execution.
                    record.Execution++;
                    record.Seq = 0;
                    record.Input = e.Input;
                    record.Output = null;
                    record.Failure = null;
                    history = [];
                    scheduled.Clear();
                    completed.Clear();
                    verdict = Verdict.Apply;
                }
                if (verdict == Verdict.Apply)
                {
                    startedNow = true;
                    record!.Status = OrchestrationRuntimeStatus.Pending;
                    record.Name = e.Name ?? record.Name;
                    if (e.Parent is not null) record.Parent = e.Parent;
                }
            }
            else if (record is null) { verdict = Verdict.Defer; why = "instance does not exist yet"; }
            else if (record.IsTerminal) verdict = Verdict.Drop;
            else if (m.Execution >= 0 && m.Execution != record.Execution) verdict = m.Execution > record.Execution ? Verdict.Defer : Verdict.Drop;
            else if (e.Type is HistoryEventType.ExecutionTerminated || (e.Type == HistoryEventType.ExecutionCompleted && e.Status == OrchestrationRuntimeStatus.Failed))
                verdict = Verdict.Apply;
            else if (record.Status == OrchestrationRuntimeStatus.ContinuedAsNew || (history.Count == 0 && !startedNow))
            { verdict = Verdict.Defer; why = "execution not started yet"; }
            else if (e.Type is HistoryEventType.TaskCompleted or HistoryEventType.TaskFailed or HistoryEventType.TimerFired
                     or HistoryEventType.SubOrchestrationCompleted or HistoryEventType.SubOrchestrationFailed)
            {
                if (completed.Contains(e.TaskId)) { verdict = Verdict.Drop; redelivered = true; }
                else if (!scheduled.TryGetValue(e.TaskId, out var kind) || kind != ExpectedKind(e.Type))
                { verdict = Verdict.Defer; why = $"{e.Type} for task {e.TaskId} that is not in history"; }
                else if (e.Type == HistoryEventType.TimerFired && e.FireAt > now.AddMilliseconds(15)) { early.Add(pm); continue; }
                else
                {
                    verdict = Verdict.Apply;
                    // A timer fires at its due time as far as the orchestrator can tell (local clocks may be a hair early).
                    if (e.Type == HistoryEventType.TimerFired && e.FireAt > now) now = e.FireAt.Value;
                }
            }
            else verdict = Verdict.Apply;

            switch (verdict)
            {
                case Verdict.Apply: accepted.Add(e); Track(e); if (pm.Anchor is not null) consumed.Add(pm.Anchor); break;
                case Verdict.Drop: if (pm.Anchor is not null) consumed.Add(pm.Anchor); break;
                case Verdict.Defer: deferred.Add((pm, why)); break;
            }
        }

        if (fromStorage && redelivered && record is { IsTerminal: false })
            await ResendOutstandingActivitiesAsync(instanceId, record.Execution, history, completed, cancellationToken).ConfigureAwait(false);

        foreach (var pm in early)
        {
            // Short waits are held in memory; long ones (timers beyond the 6-day queue limit, or clock skew) go back
            // to the queue with the remaining delay, so a restart never turns them into repeated early deliveries.
            var remaining = pm.Message.Event.FireAt!.Value - DateTime.UtcNow;
            if (remaining < TimeSpan.FromSeconds(30) || pm.Anchor is null) HoldUntil(pm, pm.Message.Event.FireAt.Value);
            else
            {
                await storage.SendAsync(storage.ControlQueueFor(instanceId), pm.Message, TimeSpan.FromSeconds(Math.Ceiling(remaining.TotalSeconds)), cancellationToken: cancellationToken).ConfigureAwait(false);
                await storage.DeleteAsync(pm.Anchor, cancellationToken).ConfigureAwait(false);
            }
        }

        if (accepted.Count == 0 || record is null)
        {
            await FinishAsync(consumed, deferred, cancellationToken).ConfigureAwait(false);
            return true;
        }

        var newEvents = new List<HistoryEvent>(accepted.Count + 4) { new() { Type = HistoryEventType.OrchestratorStarted, Timestamp = now } };
        newEvents.AddRange(accepted.Select(a => a.Timestamp == default ? a with { Timestamp = now } : a));
        var outbound = new List<Outbound>();
        var stop = accepted.FirstOrDefault(a => a.Type == HistoryEventType.ExecutionTerminated
                                                 || (a.Type == HistoryEventType.ExecutionCompleted && a.Status == OrchestrationRuntimeStatus.Failed));
        if (stop is not null)
        {
            // Terminate / poison: no replay, the instance just ends (and a waiting parent learns about it).
            newEvents.RemoveAll(a => a.Type == HistoryEventType.ExecutionCompleted);
            if (stop.Type == HistoryEventType.ExecutionTerminated)
            {
                record.Status = OrchestrationRuntimeStatus.Terminated;
                record.Output = stop.Input;
                NotifyParent(record, outbound, null, new FailureDetails("Mlops.Durable.Terminated", $"Sub-orchestration was terminated: {stop.Input}"));
            }
            else
            {
                record.Status = OrchestrationRuntimeStatus.Failed;
                record.Failure = stop.Failure;
                newEvents.Add(stop with { Timestamp = now });
                NotifyParent(record, outbound, null, stop.Failure);
            }
        }
        else
        {
            if (!registry.TryCreateOrchestrator(record.Name, services, out var orchestrator))
                throw new InvalidOperationException($"Orchestrator '{record.Name}' is not registered in this worker.");
            var result = OrchestrationRunner.Run(orchestrator, instanceId, history, newEvents, record.Execution, loggerFactory);
            foreach (var action in result.NewActions)
            {
                var a = action with { Timestamp = now };
                newEvents.Add(a);
                switch (a.Type)
                {
                    case HistoryEventType.TaskScheduled:
                        outbound.Add(new Outbound(storage.WorkItems, new WireMessage { InstanceId = instanceId, Execution = record.Execution, Event = a }, Kind.Activity));
                        break;
                    case HistoryEventType.TimerCreated:
                        outbound.Add(new Outbound(storage.ControlQueueFor(instanceId), new WireMessage
                        {
                            InstanceId = instanceId, Execution = record.Execution,
                            Event = new HistoryEvent { Type = HistoryEventType.TimerFired, TaskId = a.EventId, FireAt = a.FireAt },
                        }, Kind.Timer, a.FireAt));
                        break;
                    case HistoryEventType.SubOrchestrationCreated:
                        outbound.Add(Control(new WireMessage
                        {
                            InstanceId = a.ChildInstanceId!, Execution = 0,
                            Event = new HistoryEvent { Type = HistoryEventType.ExecutionStarted, Name = a.Name, Input = a.Input, Timestamp = now, Parent = new ParentInstance(instanceId, record.Execution, a.EventId) },
                        }));
                        break;
                }
            }
            record.CustomStatus = result.CustomStatus;
            record.Status = result.Status;
            switch (result.Status)
            {
                case OrchestrationRuntimeStatus.Completed:
                    record.Output = result.Output;
                    newEvents.Add(new HistoryEvent { Type = HistoryEventType.ExecutionCompleted, Status = result.Status, Result = result.Output, Timestamp = now });
                    NotifyParent(record, outbound, result.Output, null);
                    break;
                case OrchestrationRuntimeStatus.Failed:
                    record.Failure = result.Failure;
                    newEvents.Add(new HistoryEvent { Type = HistoryEventType.ExecutionCompleted, Status = result.Status, Failure = result.Failure, Timestamp = now });
                    NotifyParent(record, outbound, null, result.Failure);
                    break;
                case OrchestrationRuntimeStatus.ContinuedAsNew:
                    newEvents.Add(new HistoryEvent { Type = HistoryEventType.ExecutionCompleted, Status = result.Status, Input = result.ContinueAsNewInput, Timestamp = now });
                    outbound.Add(Control(new WireMessage
                    {
                        InstanceId = instanceId, Execution = record.Execution + 1,
                        Event = new HistoryEvent { Type = HistoryEventType.ExecutionStarted, Name = record.Name, Input = result.ContinueAsNewInput, Timestamp = now, Parent = record.Parent },
                    }));
                    foreach (var (name, input) in result.CarryOverEvents)
                        outbound.Add(Control(new WireMessage { InstanceId = instanceId, Execution = record.Execution + 1, Event = new HistoryEvent { Type = HistoryEventType.EventRaised, Name = name, Input = input, Timestamp = now } }));
                    break;
            }
        }
        record.UpdatedAt = now;

        // (1) outbound first: a crash after this replays the episode and re-sends the same (deduplicated) messages.
        // When everything outbound is activity work items (the common hop), sends and checkpoint overlap, saving a
        // round trip: if the process dies after the checkpoint but before a send landed, the triggering messages
        // (deleted only after both) come back, are recognised as already applied, and that makes the next worker
        // re-send the outstanding work items (ResendOutstandingActivitiesAsync).
        var sending = Task.WhenAll(outbound.Select(o => SendOutboundAsync(o, now, cancellationToken)));
        if (!outbound.All(o => o.Kind == Kind.Activity)) await sending.ConfigureAwait(false);

        // (2) the checkpoint: history + instance row, atomically, under the ETag we read.
        bool ok;
        try { ok = await storage.CheckpointAsync(record, newEvents, cancellationToken).ConfigureAwait(false); }
        catch
        {
            try { await sending.ConfigureAwait(false); } catch (Exception) { }
            throw;
        }
        var sent = await sending.ConfigureAwait(false);
        if (!ok)
        {
            // Another writer won. Messages handed over in-process must not wait for their visibility timeout.
            foreach (var s in sent)
            {
                if (s.LocalActivity) Activities.RunLocal(s.Outbound.Message, s.Anchor!);
                else if (s.Anchor is not null) _ = storage.SetVisibilityAsync(s.Anchor, TimeSpan.Zero, release: true);
            }
            return false;
        }

        // (3) after the checkpoint: cache, hand over local work, delete consumed messages.
        history.AddRange(newEvents);
        if (record.IsTerminal) { cache.TryRemove(instanceId, out _); logger.InstanceFinished(instanceId, record.Status); }
        else
        {
            if (cache.Count >= options.InstanceCacheSize) cache.Clear();
            if (options.InstanceCacheSize > 0) cache[instanceId] = new InstanceState(record, history);
        }
        foreach (var s in sent)
        {
            if (s.LocalActivity) Activities.RunLocal(s.Outbound.Message, s.Anchor!);
            else if (s.Outbound.Kind == Kind.Timer)
            {
                if (s.Anchor is not null) HoldUntil(new PendingMessage(s.Outbound.Message, s.Anchor), s.Outbound.FireAt!.Value);
            }
            else if (s.Anchor is not null) Deliver(new PendingMessage(s.Outbound.Message, s.Anchor));
        }
        await FinishAsync(consumed, deferred, cancellationToken).ConfigureAwait(false);
        return true;

        void Track(HistoryEvent e)
        {
            if (e.Type is HistoryEventType.TaskScheduled or HistoryEventType.TimerCreated or HistoryEventType.SubOrchestrationCreated) scheduled[e.EventId] = e.Type;
            else if (e.Type is HistoryEventType.TaskCompleted or HistoryEventType.TaskFailed or HistoryEventType.TimerFired
                     or HistoryEventType.SubOrchestrationCompleted or HistoryEventType.SubOrchestrationFailed) completed.Add(e.TaskId);
        }
    }

    /// <summary>
    /// Recovery for the overlapped send/checkpoint: re-sends a work item for every scheduled, uncompleted activity.
    /// Runs only when the instance was loaded from storage and a message it had already applied came back, i.e. when
    /// a previous episode may have died between its checkpoint and its sends. Extra copies are harmless: activities
    /// run at least once and duplicate results are dropped by event id.
    /// </summary>
    private async Task ResendOutstandingActivitiesAsync(string instanceId, int execution, List<HistoryEvent> history, HashSet<int> completed, CancellationToken cancellationToken)
    {
        var outstanding = history.Where(e => e.Type == HistoryEventType.TaskScheduled && !completed.Contains(e.EventId)).ToList();
        await Task.WhenAll(outstanding.Select(e => storage.SendAsync(storage.WorkItems,
            new WireMessage { InstanceId = instanceId, Execution = execution, Event = e }, cancellationToken: cancellationToken))).ConfigureAwait(false);
    }

    private static HistoryEventType ExpectedKind(HistoryEventType completion) => completion switch
    {
        HistoryEventType.TimerFired => HistoryEventType.TimerCreated,
        HistoryEventType.SubOrchestrationCompleted or HistoryEventType.SubOrchestrationFailed => HistoryEventType.SubOrchestrationCreated,
        _ => HistoryEventType.TaskScheduled,
    };

    private enum Kind { Activity, Timer, Control }

    /// <summary>Target queue of a re-sent message.</summary>
    internal sealed record CloudQueueLike(Microsoft.WindowsAzure.Storage.Queue.CloudQueue Queue);

    private sealed record Outbound(Microsoft.WindowsAzure.Storage.Queue.CloudQueue Queue, WireMessage Message, Kind Kind, DateTime? FireAt = null);

    /// <summary>A sent message; <see cref="Anchor"/> is set only when it is also handed over in-process.</summary>
    private sealed record Sent(Outbound Outbound, QueueAnchor? Anchor, bool LocalActivity);

    private Outbound Control(WireMessage m) => new(storage.ControlQueueFor(m.InstanceId), m, Kind.Control);

    private void NotifyParent(InstanceRecord record, List<Outbound> outbound, string? output, FailureDetails? failure)
    {
        if (record.Parent is not { } parent) return;
        var e = failure is null
            ? new HistoryEvent { Type = HistoryEventType.SubOrchestrationCompleted, TaskId = parent.TaskId, Result = output, Timestamp = DateTime.UtcNow }
            : new HistoryEvent { Type = HistoryEventType.SubOrchestrationFailed, TaskId = parent.TaskId, Failure = failure, Timestamp = DateTime.UtcNow };
        outbound.Add(Control(new WireMessage { InstanceId = parent.InstanceId, Execution = parent.Execution, Event = e }));
    }

    private async Task<Sent> SendOutboundAsync(Outbound o, DateTime now, CancellationToken cancellationToken)
    {
        switch (o.Kind)
        {
            case Kind.Activity:
                // Run it here right away if we have a free slot; the queued copy stays invisible as the crash backup.
                bool local = Activities.TryReserve();
                var a = await storage.SendAsync(o.Queue, o.Message, local ? options.VisibilityTimeout : null, cancellationToken: cancellationToken, hold: local).ConfigureAwait(false);
                return new Sent(o, local ? a : null, local);
            case Kind.Timer:
                var delay = o.FireAt!.Value - now;
                // Queue visibility has 1 s resolution: round up so the durable copy is never early; the local copy is exact.
                var rounded = delay <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Ceiling(delay.TotalSeconds));
                // Not held: if the queue copy surfaces first it is processed, and the in-process copy is then a duplicate.
                var t = await storage.SendAsync(o.Queue, o.Message, rounded, cancellationToken: cancellationToken).ConfigureAwait(false);
                return new Sent(o, Partitions.Owns(storage.PartitionOf(o.Message.InstanceId)) ? t : null, false);
            default:
                bool mine = Partitions.Owns(storage.PartitionOf(o.Message.InstanceId));
                var c = await storage.SendAsync(o.Queue, o.Message, mine ? options.VisibilityTimeout : null, cancellationToken: cancellationToken, hold: mine).ConfigureAwait(false);
                return new Sent(o, mine ? c : null, false);
        }
    }

    /// <summary>Delivers a (timer) message in-process at <paramref name="when"/>; its queue copy is the crash backup.</summary>
    private void HoldUntil(PendingMessage message, DateTime when)
    {
        var delay = when - DateTime.UtcNow;
        if (delay <= TimeSpan.Zero) { Deliver(message); return; }
        _ = Task.Delay(delay, stopping).ContinueWith(t => { if (!t.IsCanceled) Deliver(message); }, TaskScheduler.Default);
    }

    private async Task FinishAsync(List<QueueAnchor> consumed, List<(PendingMessage Message, string Why)> deferred, CancellationToken cancellationToken)
    {
        var work = consumed.Select(a => storage.DeleteAsync(a, cancellationToken)).ToList();
        foreach (var (pm, why) in deferred) work.Add(DeferAsync(pm, why, cancellationToken));
        await Task.WhenAll(work).ConfigureAwait(false);
    }

    /// <summary>
    /// A message its instance is not ready for (e.g. an activity result that raced ahead of the checkpoint recording
    /// its schedule) is re-sent with a growing delay instead of abandoned, so it does not count towards poisoning.
    /// </summary>
    private async Task DeferAsync(PendingMessage pm, string why, CancellationToken cancellationToken)
    {
        var m = pm.Message;
        logger.Deferred(m.InstanceId, m.Defers + 1, why);
        if (m.Defers >= MaxDefers)
        {
            var anchor = pm.Anchor ?? await storage.SendAsync(storage.ControlQueueFor(m.InstanceId), m, TimeSpan.FromDays(1), wake: false, cancellationToken).ConfigureAwait(false);
            await PoisonAsync(anchor, null, Json.Serialize(m), $"deferred {m.Defers} times: {why}", cancellationToken).ConfigureAwait(false);
            return;
        }
        var delay = TimeSpan.FromMilliseconds(Math.Min(100 * Math.Pow(2, m.Defers), 5000));
        await storage.SendAsync(storage.ControlQueueFor(m.InstanceId), m with { Defers = m.Defers + 1 }, delay, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (pm.Anchor is not null) await storage.DeleteAsync(pm.Anchor, cancellationToken).ConfigureAwait(false);
    }
}
