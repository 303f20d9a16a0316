using System.Text.RegularExpressions;
using Microsoft.WindowsAzure.Storage;

namespace Mlops.Durable;

/// <summary>Where a task hub lives: shared by <see cref="DurableClient"/> and <see cref="DurableWorker"/>.</summary>
public class DurableTaskHubOptions
{
    /// <summary>Task hub name: 3-40 lowercase letters/digits, starting with a letter. Prefixes every table, queue and container.</summary>
    public string TaskHubName { get; set; } = "mlops";

    /// <summary>Storage connection string, used when <see cref="StorageAccount"/> is null.</summary>
    public string ConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>Storage account; overrides <see cref="ConnectionString"/>.</summary>
    public CloudStorageAccount? StorageAccount { get; set; }

    /// <summary>
    /// Number of control-queue partitions (1..16, default 4). Fixed when the hub is created: the value stored with the
    /// hub wins over this one, so clients and workers always agree on where an instance lives.
    /// </summary>
    public int PartitionCount { get; set; } = 4;

    /// <summary>Throws <see cref="ArgumentException"/> describing the first invalid setting.</summary>
    public virtual void Validate()
    {
        if (TaskHubName is null || !Regex.IsMatch(TaskHubName, "^[a-z][a-z0-9]{2,39}$"))
            throw new ArgumentException($"TaskHubName '{TaskHubName}' must be 3-40 lowercase letters or digits starting with a letter.", nameof(TaskHubName));
        if (PartitionCount is < 1 or > 16) throw new ArgumentException("PartitionCount must be between 1 and 16.", nameof(PartitionCount));
        if (StorageAccount is null && !CloudStorageAccount.TryParse(ConnectionString, out _))
            throw new ArgumentException("ConnectionString is not a valid storage connection string.", nameof(ConnectionString));
    }

    internal CloudStorageAccount ResolveAccount() => StorageAccount ?? CloudStorageAccount.Parse(ConnectionString);
}

/// <summary>Settings of a <see cref="DurableWorker"/>. Defaults suit a production host; tests shorten the timeouts.</summary>
public sealed class DurableWorkerOptions : DurableTaskHubOptions
{
    /// <summary>Activities running at once in this process (default 10 × cores).</summary>
    public int MaxConcurrentActivities { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>Orchestration episodes running at once in this process (default 10 × cores).</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 10 * Environment.ProcessorCount;

    /// <summary>First delay after an empty poll (default 50 ms); doubles per empty poll.</summary>
    public TimeSpan MinPollingInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest delay between polls of an idle queue (default 10 s). Work enqueued by this process wakes it at once.</summary>
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries of a message before it is moved to the poison queue and its instance failed (default 5).</summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>
    /// How long a received message stays invisible to other workers (default 5 min). Running activities extend it;
    /// after a crash, their work reappears after at most this long.
    /// </summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Partition lease duration (default 30 s); renewed every third of it. A dead worker's partitions move after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages fetched per queue poll (1..32, default 32).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Max orchestration histories kept in memory to skip table reads (default 10,000).</summary>
    public int InstanceCacheSize { get; set; } = 10_000;

    /// <summary>Id of this worker in leases and logs (default: machine name, process id and a random suffix).</summary>
    public string? WorkerId { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (MaxConcurrentActivities < 1) throw new ArgumentException("MaxConcurrentActivities must be at least 1.", nameof(MaxConcurrentActivities));
        if (MaxConcurrentOrchestrations < 1) throw new ArgumentException("MaxConcurrentOrchestrations must be at least 1.", nameof(MaxConcurrentOrchestrations));
        if (MinPollingInterval <= TimeSpan.Zero || MaxPollingInterval < MinPollingInterval)
            throw new ArgumentException("Polling intervals must be positive and MaxPollingInterval ≥ MinPollingInterval.", nameof(MaxPollingInterval));
        if (MaxDequeueCount < 1) throw new ArgumentException("MaxDequeueCount must be at least 1.", nameof(MaxDequeueCount));
        if (VisibilityTimeout < TimeSpan.FromSeconds(1) || VisibilityTimeout > TimeSpan.FromDays(7))
            throw new ArgumentException("VisibilityTimeout must be between 1 s and 7 days.", nameof(VisibilityTimeout));
        if (LeaseDuration < TimeSpan.FromSeconds(1)) throw new ArgumentException("LeaseDuration must be at least 1 s.", nameof(LeaseDuration));
        if (BatchSize is < 1 or > 32) throw new ArgumentException("BatchSize must be between 1 and 32.", nameof(BatchSize));
        if (InstanceCacheSize < 0) throw new ArgumentException("InstanceCacheSize must not be negative.", nameof(InstanceCacheSize));
    }
}
