using System.Text.Json;

namespace Mlops.Host.Triggers;

/// <summary>
/// How the trigger listeners run. Defaults are the real host's where it has one (poisonBlobThreshold 5, 60 s listener
/// lock, one-minute lock recovery); the polling intervals are ours (Azurite emits no Event Grid events) and tests
/// shorten them.
/// </summary>
public sealed class TriggerOptions
{
    /// <summary>
    /// Looks up an app setting as the worker sees it. Defaults to the host process's environment, with
    /// <c>AzureWebJobsStorage</c> taken from the host context.
    /// </summary>
    public Func<string, string?>? Settings { get; set; }

    /// <summary>How often each watched container is listed for new or changed blobs.</summary>
    public TimeSpan BlobScanInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the blob trigger queue is polled when it was empty.</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Delay before a failed blob invocation is tried again (the real host's QueuesOptions.VisibilityTimeout, zero by
    /// default: the message is visible again at once and picked up on the next poll).
    /// </summary>
    public TimeSpan BlobRetryDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long a dequeued blob message stays invisible to other hosts; renewed at half-time while the function runs,
    /// so a crashed host's message is retried by another after at most this long. Ours (the real host's queue listener
    /// hides a message for 10 minutes): 20 s, like the app's Durable queues, so a SIGKILLed host's drop resumes within
    /// 30 s.
    /// </summary>
    public TimeSpan BlobMessageVisibility { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Tries in all before a blob goes to the poison queue (host.json
    /// <c>extensions.blobs.poisonBlobThreshold</c>).</summary>
    public int PoisonBlobThreshold { get; set; } = 5;

    /// <summary>Concurrent blob invocations per host (host.json
    /// <c>extensions.blobs.maxDegreeOfParallelism</c>).</summary>
    public int MaxDegreeOfParallelism { get; set; } = 8 * Environment.ProcessorCount;

    /// <summary>Lease period of listener singleton locks (the WebJobs SDK's ListenerLockPeriod, 60 s).</summary>
    public TimeSpan ListenerLockPeriod { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a host without a listener lock tries to take it (the SDK's
    /// ListenerLockRecoveryPollingInterval, 1 min).</summary>
    public TimeSpan ListenerLockRecoveryInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Lease period of the blob scan singleton. The scan is ours (Azurite emits no Event Grid events), so its timings
    /// are too: with the SDK's 60 s listener lock and one-minute recovery poll, a SIGKILLed scan holder left new drops
    /// unseen for up to two minutes; 15 s (renewed every 5 s) keeps a hand-over within 30 s.
    /// </summary>
    public TimeSpan ScanLockPeriod { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often a host without the blob scan lock tries to take it (ours, see <see
    /// cref="ScanLockPeriod"/>).</summary>
    public TimeSpan ScanLockRecoveryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads <c>extensions.blobs</c> from host.json; a value of the wrong type or range is a clear
    /// error.</summary>
    public void ApplyHostJson(JsonElement hostJson)
    {
        if (
            hostJson.ValueKind != JsonValueKind.Object
            || !hostJson.TryGetProperty("extensions", out var extensions)
            || extensions.ValueKind != JsonValueKind.Object
            || !extensions.TryGetProperty("blobs", out var blobs)
        )
            return;
        if (blobs.TryGetProperty("poisonBlobThreshold", out var threshold))
            PoisonBlobThreshold = PositiveInt(threshold, "extensions.blobs.poisonBlobThreshold");
        if (blobs.TryGetProperty("maxDegreeOfParallelism", out var parallelism))
            MaxDegreeOfParallelism = PositiveInt(parallelism, "extensions.blobs.maxDegreeOfParallelism");
    }

    private static int PositiveInt(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n >= 1
            ? n
            : throw new InvalidOperationException(
                $"host.json: '{path}' must be a whole number of at least 1 (found {value.GetRawText()})."
            );
}
