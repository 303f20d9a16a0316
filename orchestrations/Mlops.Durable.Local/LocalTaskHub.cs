using DurableTask.AzureStorage;
using Microsoft.Extensions.Logging;

namespace Mlops.Durable.Local;

/// <summary>
/// The one DTFx Azure Storage orchestration service of a process: the worker dispatches from it and the client
/// writes to it, so both use the same storage clients and partition view.
/// </summary>
public sealed class LocalTaskHub
{
    public LocalTaskHub(StorageAccountClientProvider storage, LocalDurableOptions options, ILoggerFactory loggerFactory)
    {
        options.Validate();
        Options = options;
        Service = new AzureStorageOrchestrationService(
            new AzureStorageOrchestrationServiceSettings
            {
                StorageAccountClientProvider = storage,
                TaskHubName = options.TaskHubName,
                PartitionCount = options.PartitionCount,
                MaxQueuePollingInterval = options.MaxQueuePollingInterval,
                ControlQueueVisibilityTimeout = options.VisibilityTimeout,
                WorkItemQueueVisibilityTimeout = options.VisibilityTimeout,
                LeaseInterval = options.LeaseInterval,
                LeaseRenewInterval = TimeSpan.FromTicks(options.LeaseInterval.Ticks / 3),
                LeaseAcquireInterval = TimeSpan.FromTicks(options.LeaseInterval.Ticks / 3),
                MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
                MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestrations,
                LoggerFactory = loggerFactory,
                // Keep a running orchestration's state in memory between episodes instead of reloading and replaying
                // its whole history for every batch of results: fan-in of N activities is then O(N), not O(N²) storage
                // reads.
                ExtendedSessionsEnabled = options.ExtendedSessions,
                ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(30),
            }
        );
    }

    public LocalDurableOptions Options { get; }

    /// <summary>DTFx's service: IOrchestrationService for the worker, IOrchestrationServiceClient (+ query, purge) for
    /// clients.</summary>
    public AzureStorageOrchestrationService Service { get; }

    private Task? _created;
    private readonly object _gate = new();

    /// <summary>Creates the task hub's tables, queues and lease containers once per process (idempotent in
    /// storage).</summary>
    public Task EnsureCreatedAsync()
    {
        lock (_gate)
        {
            if (_created is { IsFaulted: true } or { IsCanceled: true })
                _created = null; // storage was down: try again
            return _created ??= Service.CreateIfNotExistsAsync();
        }
    }
}
