using DurableTask.AzureStorage;

namespace Mlops.Host.Durable;

/// <summary>
/// The one DTFx Azure Storage orchestration service of this host: the dispatcher fetches work from it and the
/// worker's DurableClient endpoint writes to it, so both share storage clients and one partition view (as the Durable
/// extension's durability provider does).
/// </summary>
public sealed class DurableTaskHub
{
    private readonly object _gate = new();
    private Task? _created;

    /// <summary>Builds the service from the hub options and the storage connection string.</summary>
    public DurableTaskHub(
        DurableHubOptions options,
        string storageConnectionString,
        string hostId,
        ILoggerFactory loggerFactory
    )
    {
        Options = options;
        // One id per process: two hosts on one machine (or a host restarted after a kill) must not look like the same
        // lease owner, or a dead process's partitions would be "owned" by its successor without a takeover.
        WorkerId = $"{hostId}-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        Service = new AzureStorageOrchestrationService(
            new AzureStorageOrchestrationServiceSettings
            {
                StorageAccountClientProvider = new StorageAccountClientProvider(storageConnectionString),
                TaskHubName = options.HubName,
                PartitionCount = options.PartitionCount,
                ControlQueueBatchSize = options.ControlQueueBatchSize,
                ControlQueueBufferThreshold = options.ControlQueueBufferThreshold,
                ControlQueueVisibilityTimeout = options.ControlQueueVisibilityTimeout,
                WorkItemQueueVisibilityTimeout = options.WorkItemQueueVisibilityTimeout,
                MaxQueuePollingInterval = options.MaxQueuePollingInterval,
                MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivityFunctions,
                MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestratorFunctions,
                // host.json's extendedSessionsEnabled: the episodes of a session run on the worker's cached
                // orchestration (WorkerDispatchMiddleware sends only the new events), and DTFx skips the history read
                // per episode.
                ExtendedSessionsEnabled = options.ExtendedSessionsEnabled,
                ExtendedSessionIdleTimeout = options.ExtendedSessionIdleTimeout,
                UseTablePartitionManagement = options.UseTablePartitionManagement,
                LeaseInterval = options.LeaseInterval,
                LeaseAcquireInterval = options.LeaseAcquireInterval,
                LeaseRenewInterval = options.LeaseAcquireInterval,
                // The app lease keeps two *different* apps off one hub; every instance of this app shares the host id,
                // as every instance of a Functions app shares its site name in Azure.
                AppName = hostId,
                WorkerId = WorkerId,
                // As the extension sets it: a start that collides with a running instance throws instead of being
                // dropped.
                ThrowExceptionOnInvalidDedupeStatus = true,
                FetchLargeMessageDataEnabled = true,
                LoggerFactory = loggerFactory,
            }
        );
    }

    /// <summary>The hub's settings.</summary>
    public DurableHubOptions Options { get; }

    /// <summary>This process's lease owner name.</summary>
    public string WorkerId { get; }

    /// <summary>DTFx's service: IOrchestrationService for dispatch; IOrchestrationServiceClient (+ query, purge) for
    /// clients.</summary>
    public AzureStorageOrchestrationService Service { get; }

    /// <summary>Creates the hub's tables, queues and containers once per process (idempotent in storage).</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        Task created;
        lock (_gate)
        {
            if (_created is { IsFaulted: true } or { IsCanceled: true })
                _created = null; // storage was down: try again
            created = _created ??= Service.CreateIfNotExistsAsync();
        }
        return created.WaitAsync(cancellationToken);
    }
}
