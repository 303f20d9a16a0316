using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mlops.Durable.Core;

/// <summary>
/// The engine's <see cref="OrchestrationContext"/>: records every action the orchestrator takes (with a sequence number)
/// and completes the matching tasks as history events are applied. Used on one thread by <see cref="OrchestrationRunner"/>.
/// </summary>
internal sealed class ReplayContext(string instanceId, string name, int execution, string? inputJson, ILoggerFactory? loggerFactory)
    : OrchestrationContext
{
    internal sealed record OpenTask(HistoryEventType Kind, string Name, TaskCompletionSource<string?> Completion);

    private readonly Dictionary<int, OpenTask> open = new();
    private readonly List<HistoryEvent> unmatchedActions = new();
    private readonly Dictionary<string, LinkedList<TaskCompletionSource<string?>>> waiters = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Queue<string?>> buffered = new(StringComparer.OrdinalIgnoreCase);
    private int nextId;
    private int guidCounter;

    internal bool Replaying { get; set; } = true;
    internal DateTime Now { get; set; }
    internal bool ContinueAsNewRequested { get; private set; }
    internal string? ContinueAsNewInput { get; private set; }
    internal string? CustomStatusJson { get; private set; }
    internal int Execution => execution;

    public override string InstanceId => instanceId;
    public override string Name => name;
    public override DateTime CurrentUtcDateTime => Now;
    public override bool IsReplaying => Replaying;

    public override T GetInput<T>() => DurableJson.Deserialize<T>(inputJson);

    public override Task<T> CallActivityAsync<T>(string name, object? input = null, TaskOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        string? json = DurableJson.Serialize(input);
        if (options?.Retry is null) return Convert<T>(Schedule(HistoryEventType.TaskScheduled, name, json).Completion.Task);
        options.Retry.Validate();
        return Convert<T>(WithRetry(_ => Schedule(HistoryEventType.TaskScheduled, name, json).Completion.Task, options.Retry));
    }

    public override Task CreateTimer(DateTime fireAtUtc, CancellationToken cancellationToken = default)
    {
        var task = Schedule(HistoryEventType.TimerCreated, "timer", null, fireAt: ToUtc(fireAtUtc));
        if (cancellationToken.CanBeCanceled)
            cancellationToken.Register(() => task.Completion.TrySetCanceled(cancellationToken));
        return task.Completion.Task;
    }

    public override Task<T> WaitForExternalEvent<T>(string name, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (timeout is { } t && t < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), "Timeout must not be negative.");
        if (buffered.TryGetValue(name, out var queue) && queue.Count > 0)
            return Task.FromResult(DurableJson.Deserialize<T>(queue.Dequeue()));
        var completion = new TaskCompletionSource<string?>();
        if (!waiters.TryGetValue(name, out var list)) waiters[name] = list = new LinkedList<TaskCompletionSource<string?>>();
        var node = list.AddLast(completion);
        if (timeout is null) return Convert<T>(completion.Task);
        return WithTimeout();

        async Task<T> WithTimeout()
        {
            using var cts = new CancellationTokenSource();
            var timer = CreateTimer(Now + timeout.Value, cts.Token);
            var winner = await Task.WhenAny(completion.Task, timer);
            if (winner != completion.Task)
            {
                // The waiter must not swallow an event raised after the timeout.
                if (node.List is not null) list.Remove(node);
                throw new TimeoutException($"Event '{name}' was not raised within {timeout.Value}.");
            }
            cts.Cancel();
            return DurableJson.Deserialize<T>(await completion.Task);
        }
    }

    public override Task<T> CallSubOrchestrationAsync<T>(string name, object? input = null, string? instanceId = null, TaskOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (instanceId is not null) InstanceIds.Validate(instanceId);
        string? json = DurableJson.Serialize(input);
        Task<string?> Attempt(int attempt)
        {
            string child = instanceId is null ? $"{InstanceId}:{execution}:{nextId}" : attempt == 1 ? instanceId : $"{instanceId}:r{attempt}";
            return Schedule(HistoryEventType.SubOrchestrationCreated, name, json, childInstanceId: child).Completion.Task;
        }
        if (options?.Retry is null) return Convert<T>(Attempt(1));
        options.Retry.Validate();
        return Convert<T>(WithRetry(Attempt, options.Retry));
    }

    public override void ContinueAsNew(object? input)
    {
        ContinueAsNewRequested = true;
        ContinueAsNewInput = DurableJson.Serialize(input);
    }

    public override void SetCustomStatus(object? status) => CustomStatusJson = DurableJson.Serialize(status);

    public override Guid NewGuid()
    {
        // Name-based (v5-style) GUID: same inputs on every replay, unique per instance, execution and call.
        byte[] hash = SHA1.HashData(Encoding.UTF8.GetBytes($"{InstanceId}\n{execution}\n{guidCounter++}"));
        Span<byte> bytes = hash.AsSpan(0, 16);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }

    public override ILogger CreateReplaySafeLogger(string category) =>
        new ReplaySafeLogger((loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(category), this);

    // ---- engine side -------------------------------------------------------------------------------------------

    /// <summary>Actions taken by the orchestrator that the history does not contain yet, in order.</summary>
    internal IReadOnlyList<HistoryEvent> UnmatchedActions => unmatchedActions;

    /// <summary>External events received but not consumed, in arrival order (carried over by ContinueAsNew).</summary>
    internal IEnumerable<(string Name, string? Input)> BufferedEvents =>
        buffered.SelectMany(kv => kv.Value.Select(v => (kv.Key, v)));

    /// <summary>Checks a recorded action against what the orchestrator did at the same sequence number.</summary>
    internal void MatchRecordedAction(HistoryEvent recorded)
    {
        int index = unmatchedActions.FindIndex(a => a.EventId == recorded.EventId);
        if (index < 0)
            throw new NonDeterministicOrchestrationException(
                $"Non-deterministic orchestration '{Name}' ({InstanceId}): at sequence {recorded.EventId} the history has " +
                $"{recorded.Type} '{recorded.Name}', but the orchestrator took no action with that sequence number (it took {nextId} actions).");
        var actual = unmatchedActions[index];
        if (actual.Type != recorded.Type || !string.Equals(actual.Name, recorded.Name, StringComparison.Ordinal))
            throw new NonDeterministicOrchestrationException(
                $"Non-deterministic orchestration '{Name}' ({InstanceId}): at sequence {recorded.EventId} expected " +
                $"{recorded.Type} '{recorded.Name}' (from history) but the orchestrator produced {actual.Type} '{actual.Name}'.");
        unmatchedActions.RemoveAt(index);
    }

    internal void Complete(int taskId, string? result)
    {
        if (open.Remove(taskId, out var task)) task.Completion.TrySetResult(result);
    }

    internal void Fail(int taskId, FailureDetails failure)
    {
        if (open.Remove(taskId, out var task)) task.Completion.TrySetException(new TaskFailedException(task.Name, taskId, failure));
    }

    internal void DeliverEvent(string eventName, string? input)
    {
        if (waiters.TryGetValue(eventName, out var list) && list.First is { } first)
        {
            list.RemoveFirst();
            first.Value.TrySetResult(input);
            return;
        }
        if (!buffered.TryGetValue(eventName, out var queue)) buffered[eventName] = queue = new Queue<string?>();
        queue.Enqueue(input);
    }

    private OpenTask Schedule(HistoryEventType kind, string taskName, string? input, DateTime? fireAt = null, string? childInstanceId = null)
    {
        int id = nextId++;
        var task = new OpenTask(kind, taskName, new TaskCompletionSource<string?>());
        open[id] = task;
        unmatchedActions.Add(new HistoryEvent
        {
            Type = kind, EventId = id, Name = taskName, Input = input, FireAt = fireAt, ChildInstanceId = childInstanceId, Timestamp = Now,
        });
        return task;
    }

    private async Task<string?> WithRetry(Func<int, Task<string?>> attempt, RetryPolicy policy)
    {
        DateTime started = Now;
        for (int n = 1; ; n++)
        {
            try
            {
                return await attempt(n);
            }
            catch (TaskFailedException) when (n < policy.MaxAttempts)
            {
                TimeSpan delay = policy.DelayBefore(n + 1);
                if (policy.RetryTimeout is { } limit && Now + delay - started > limit) throw;
                await CreateTimer(Now + delay);
            }
        }
    }

    private static async Task<T> Convert<T>(Task<string?> task) => DurableJson.Deserialize<T>(await task);

    private static DateTime ToUtc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Local => t.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(t, DateTimeKind.Utc),
        _ => t,
    };

    private sealed class ReplaySafeLogger(ILogger inner, ReplayContext context) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => !context.Replaying && inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!context.Replaying) inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}

/// <summary>Instance id rules: usable as a table partition key and in URLs.</summary>
internal static class InstanceIds
{
    public static void Validate(string instanceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        if (instanceId.Length > 200) throw new ArgumentException("Instance id must be at most 200 characters.", nameof(instanceId));
        foreach (char c in instanceId)
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c) || char.IsWhiteSpace(c))
                throw new ArgumentException($"Instance id '{instanceId}' contains a forbidden character ('{c}').", nameof(instanceId));
    }
}
