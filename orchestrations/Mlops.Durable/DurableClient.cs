using Microsoft.WindowsAzure.Storage.Table;
using Mlops.Core.Errors;
using Mlops.Durable.AzureStorage;
using Mlops.Durable.Core;

namespace Mlops.Durable;

/// <summary>
/// Starts, inspects and controls orchestration instances of a task hub. Thread-safe; create one per hub and share it.
/// Commands (events, terminate, suspend, resume) are queued to the instance and applied by a worker in order, so
/// their effect is visible in <see cref="GetStatusAsync"/> shortly after the call returns.
/// </summary>
public sealed class DurableClient
{
    private readonly TaskHubStorage storage;

    /// <summary>Creates a client for the hub described by <paramref name="options"/> (validated here).</summary>
    public DurableClient(DurableTaskHubOptions options) : this(new TaskHubStorage(options)) { }

    internal DurableClient(TaskHubStorage storage) => this.storage = storage;

    /// <summary>Storage calls made by this client.</summary>
    public long StorageTransactions => storage.Transactions;

    /// <summary>
    /// Starts a new instance of orchestrator <paramref name="name"/>. Reusing the id of a finished instance starts a
    /// new execution of it; reusing the id of an unfinished one throws <see cref="OrchestrationStateException"/>.
    /// </summary>
    /// <returns>The instance id (a new GUID when <paramref name="instanceId"/> is null).</returns>
    public Task<string> StartNewAsync(string name, object? input = null, string? instanceId = null, CancellationToken cancellationToken = default) =>
        StartRawAsync(name, DurableJson.Serialize(input), instanceId, cancellationToken);

    internal async Task<string> StartRawAsync(string name, string? inputJson, string? instanceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        instanceId ??= Guid.NewGuid().ToString("N");
        InstanceIds.Validate(instanceId);
        await storage.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var existing = await storage.ReadInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (existing is { IsTerminal: false })
            throw new OrchestrationStateException($"Instance '{instanceId}' is {existing.Status}; terminate it or wait for it to finish before reusing the id.");
        var now = DateTime.UtcNow;
        var record = new InstanceRecord
        {
            InstanceId = instanceId, Name = name, Status = OrchestrationRuntimeStatus.Pending, CreatedAt = now, UpdatedAt = now,
            Execution = existing is null ? 0 : existing.Execution + 1, Seq = 0, Input = inputJson, ETag = existing?.ETag,
        };
        if (!await storage.CheckpointAsync(record, [], cancellationToken).ConfigureAwait(false))
            throw new OrchestrationStateException($"Instance '{instanceId}' was started concurrently by another caller.");
        var started = new HistoryEvent { Type = HistoryEventType.ExecutionStarted, Name = name, Input = inputJson, Timestamp = now };
        await storage.SendAsync(storage.ControlQueueFor(instanceId), new WireMessage { InstanceId = instanceId, Execution = record.Execution, Event = started },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return instanceId;
    }

    /// <summary>Current state of an instance, or null if it does not exist.</summary>
    /// <param name="instanceId">Instance id.</param>
    /// <param name="includeHistory">Also read the event history of the current execution.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<OrchestrationStatus?> GetStatusAsync(string instanceId, bool includeHistory = false, CancellationToken cancellationToken = default)
    {
        InstanceIds.Validate(instanceId);
        await storage.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        if (!includeHistory) return (await storage.ReadInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false))?.ToStatus(null);
        var state = await storage.LoadAsync(instanceId, -1, cancellationToken).ConfigureAwait(false);
        return state?.Record.ToStatus(state.History);
    }

    /// <summary>
    /// Polls until the instance is Completed, Failed or Terminated. Throws <see cref="TimeoutException"/> after
    /// <paramref name="timeout"/> and <see cref="NotFoundException"/> if the instance does not exist.
    /// </summary>
    public async Task<OrchestrationStatus> WaitForCompletionAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var status = await GetStatusAsync(instanceId, false, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException("orchestration.not_found", $"Instance '{instanceId}' does not exist.");
            if (status.IsTerminal) return status;
            if (DateTime.UtcNow + delay > deadline)
                throw new TimeoutException($"Instance '{instanceId}' is still {status.RuntimeStatus} after {timeout}.");
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
        }
    }

    /// <summary>Sends external event <paramref name="eventName"/> to a running, pending or suspended instance.</summary>
    public Task RaiseEventAsync(string instanceId, string eventName, object? eventData = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventName);
        return SendCommandAsync(instanceId, new HistoryEvent { Type = HistoryEventType.EventRaised, Name = eventName, Input = DurableJson.Serialize(eventData) }, cancellationToken);
    }

    /// <summary>Stops an unfinished instance; its output becomes <paramref name="reason"/>. Running activities finish but are ignored.</summary>
    public Task TerminateAsync(string instanceId, string? reason = null, CancellationToken cancellationToken = default) =>
        SendCommandAsync(instanceId, new HistoryEvent { Type = HistoryEventType.ExecutionTerminated, Input = DurableJson.Serialize(reason) }, cancellationToken);

    /// <summary>Pauses an instance: events and results are recorded but not applied until <see cref="ResumeAsync"/>.</summary>
    public Task SuspendAsync(string instanceId, string? reason = null, CancellationToken cancellationToken = default) =>
        SendCommandAsync(instanceId, new HistoryEvent { Type = HistoryEventType.ExecutionSuspended, Input = DurableJson.Serialize(reason) }, cancellationToken);

    /// <summary>Resumes a suspended instance.</summary>
    public Task ResumeAsync(string instanceId, string? reason = null, CancellationToken cancellationToken = default) =>
        SendCommandAsync(instanceId, new HistoryEvent { Type = HistoryEventType.ExecutionResumed, Input = DurableJson.Serialize(reason) }, cancellationToken);

    /// <summary>
    /// Deletes a finished instance's state and history. Returns false if it does not exist; throws
    /// <see cref="OrchestrationStateException"/> if it is not finished.
    /// </summary>
    public async Task<bool> PurgeAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        InstanceIds.Validate(instanceId);
        await storage.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var existing = await storage.ReadInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (existing is null) return false;
        if (!existing.IsTerminal) throw new OrchestrationStateException($"Instance '{instanceId}' is {existing.Status}; only finished instances can be purged.");
        return await storage.PurgeAsync(instanceId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a finished instance again with its original name and input, as a new execution of the same id, or under a
    /// new id when <paramref name="newInstanceId"/> is true. Returns the id of the restarted instance.
    /// </summary>
    public async Task<string> RestartAsync(string instanceId, bool newInstanceId = false, CancellationToken cancellationToken = default)
    {
        InstanceIds.Validate(instanceId);
        await storage.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var existing = await storage.ReadInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException("orchestration.not_found", $"Instance '{instanceId}' does not exist.");
        if (!newInstanceId && !existing.IsTerminal)
            throw new OrchestrationStateException($"Instance '{instanceId}' is {existing.Status}; only finished instances can be restarted under the same id.");
        return await StartRawAsync(existing.Name, existing.Input, newInstanceId ? null : instanceId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists instances matching <paramref name="query"/>, newest first within the page read (no history).</summary>
    public async Task<IReadOnlyList<OrchestrationStatus>> QueryAsync(OrchestrationQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new OrchestrationQuery();
        if (query.Top is < 1 or > 1000) throw new ArgumentException("Top must be between 1 and 1000.", nameof(query));
        if (query.CreatedFrom > query.CreatedTo) throw new ArgumentException("CreatedFrom must not be after CreatedTo.", nameof(query));
        await storage.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        string filter = TableQuery.GenerateFilterCondition("RowKey", QueryComparisons.Equal, TaskHubStorage.InstanceRowKey);
        if (query.CreatedFrom is { } from)
            filter = TableQuery.CombineFilters(filter, TableOperators.And, TableQuery.GenerateFilterConditionForDate("CreatedAt", QueryComparisons.GreaterThanOrEqual, from.ToUniversalTime()));
        if (query.CreatedTo is { } to)
            filter = TableQuery.CombineFilters(filter, TableOperators.And, TableQuery.GenerateFilterConditionForDate("CreatedAt", QueryComparisons.LessThan, to.ToUniversalTime()));
        if (!string.IsNullOrEmpty(query.InstanceIdPrefix))
            filter = TableQuery.CombineFilters(filter, TableOperators.And, TableQuery.CombineFilters(
                TableQuery.GenerateFilterCondition("PartitionKey", QueryComparisons.GreaterThanOrEqual, query.InstanceIdPrefix), TableOperators.And,
                TableQuery.GenerateFilterCondition("PartitionKey", QueryComparisons.LessThan, query.InstanceIdPrefix + '\uffff')));
        if (query.Statuses is { Count: > 0 } statuses)
            filter = TableQuery.CombineFilters(filter, TableOperators.And, string.Join(" or ",
                statuses.Distinct().Select(s => "(" + TableQuery.GenerateFilterCondition("Status", QueryComparisons.Equal, s.ToString()) + ")")).Insert(0, "(") + ")");
        var records = await storage.QueryInstancesAsync(filter,
            r => query.NamePrefix is null || r.Name.StartsWith(query.NamePrefix, StringComparison.Ordinal), query.Top, cancellationToken).ConfigureAwait(false);
        return records.OrderByDescending(r => r.CreatedAt).Select(r => r.ToStatus(null)).ToList();
    }

    private async Task SendCommandAsync(string instanceId, HistoryEvent command, CancellationToken cancellationToken)
    {
        InstanceIds.Validate(instanceId);
        await storage.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var existing = await storage.ReadInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException("orchestration.not_found", $"Instance '{instanceId}' does not exist.");
        if (existing.IsTerminal)
            throw new OrchestrationStateException($"Instance '{instanceId}' is already {existing.Status}.");
        await storage.SendAsync(storage.ControlQueueFor(instanceId), new WireMessage { InstanceId = instanceId, Execution = -1, Event = command with { Timestamp = DateTime.UtcNow } },
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
