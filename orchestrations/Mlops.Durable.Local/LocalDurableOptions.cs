namespace Mlops.Durable.Local;

/// <summary>
/// Settings of the local task hub. They mirror host.json's <c>extensions.durableTask</c> section, so the local runner
/// and Durable Functions in Azure share one task hub layout (and one storage account can move between them). The
/// defaults are tuned for latency: a killed host's in-flight work becomes visible to another host within 20 s
/// (DTFx's default is 5 minutes) and idle polling backs off to 1 s at most.
/// </summary>
public sealed class LocalDurableOptions
{
    /// <summary>Task hub name: prefix of the history/instances tables, control/work-item queues and lease
    /// containers.</summary>
    public string TaskHubName { get; set; } = "mlops";

    /// <summary>Control-queue partitions (1–16). Fixed when the task hub is created.</summary>
    public int PartitionCount { get; set; } = 4;

    /// <summary>Upper bound of idle queue polling back-off.</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a dequeued message stays hidden: the time after which a dead host's work is picked up again (target:
    /// within 30 s of a SIGKILL). Long activities are safe: DTFx renews an activity's lock while it runs.
    /// </summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Partition lease length; a dead host's partitions move to a live one after it expires.</summary>
    public TimeSpan LeaseInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Activities run at once per process: Durable Functions' default (10 × cores). Most activities wait on
    /// storage; CPU-bound training is bounded by the sweep's <c>parallelism</c>, not by this.</summary>
    public int MaxConcurrentActivities { get; set; } = Environment.ProcessorCount * 10;

    /// <summary>Orchestration episodes run at once per process.</summary>
    public int MaxConcurrentOrchestrations { get; set; } = Math.Max(10, Environment.ProcessorCount * 10);

    /// <summary>
    /// DTFx extended sessions (host.json <c>extendedSessionsEnabled</c>): in-memory orchestration state between
    /// episodes. On by default locally; Durable Functions' isolated worker does not offer them.
    /// </summary>
    public bool ExtendedSessions { get; set; } = true;

    /// <summary>Throws with the setting's name when a value is out of range.</summary>
    public void Validate()
    {
        if (
            string.IsNullOrWhiteSpace(TaskHubName)
            || TaskHubName.Length is < 3 or > 45
            || !TaskHubName.All(char.IsAsciiLetterOrDigit)
            || !char.IsAsciiLetter(TaskHubName[0])
        )
            throw new ArgumentException(
                $"Task hub name '{TaskHubName}' must be 3–45 letters or digits, starting with a letter."
            );
        if (PartitionCount is < 1 or > 16)
            throw new ArgumentException($"partitionCount {PartitionCount} must be between 1 and 16.");
        if (VisibilityTimeout < TimeSpan.FromSeconds(5))
            throw new ArgumentException("The queue visibility timeout must be at least 5 seconds.");
    }
}
