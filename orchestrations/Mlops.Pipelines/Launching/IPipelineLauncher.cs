namespace Mlops.Pipelines.Launching;

/// <summary>Why a training run started: a data drop, an on-demand call, or a schedule tick.</summary>
public sealed record PipelineTrigger(
    string Kind,
    string? BlobName = null,
    string? BlobETag = null,
    DateTimeOffset? ScheduledFor = null,
    string? Reason = null,
    string? FeedbackRows = null
)
{
    /// <summary>
    /// The monitoring loop decided to retrain; <paramref name="reason"/> says which signal and values, and
    /// <paramref name="feedbackRows"/> (a blob in the labels container) holds labeled production rows to learn from.
    /// </summary>
    public static PipelineTrigger Monitor(string reason, string? feedbackRows = null) =>
        new("monitor", Reason: reason, FeedbackRows: feedbackRows);

    public static PipelineTrigger Drop(string blobName, string etag) => new("drop", blobName, etag);

    public static PipelineTrigger Manual() => new("manual");

    public static PipelineTrigger Schedule(DateTimeOffset tick) => new("schedule", ScheduledFor: tick);
}

/// <summary>Starts training pipelines. Idempotent per instance id, so a trigger handler that runs twice starts one
/// run.</summary>
public interface IPipelineLauncher
{
    /// <summary>Starts (or finds the already started) run with <paramref name="instanceId"/>; returns its id.</summary>
    Task<string> StartTrainingAsync(
        string dataset,
        PipelineTrigger trigger,
        string instanceId,
        CancellationToken cancellationToken = default
    );
}

/// <summary>
/// The training pipeline's instance ids, in the one scheme of <see cref="InstanceIds"/>
/// (<c>train-{dataset}-{drop|mon|sched|run}-{key}</c>): the same trigger event always maps to the same instance.
/// </summary>
public static class PipelineInstanceIds
{
    /// <summary>A dropped blob's run: one per blob version (name and ETag).</summary>
    /// <remarks>ETags are compared without their quotes: listings quote them, trigger metadata may not.</remarks>
    public static string ForDrop(string dataset, string blobName, string etag) =>
        InstanceIds.ForEvent(InstanceIds.Training, dataset, InstanceIds.DropKind, blobName + "|" + etag.Trim('"'));

    /// <summary>One retraining per monitor run: the reason starts with "monitor run {id}:", so a retried activity finds
    /// its run.</summary>
    public static string ForMonitor(string dataset, string reason) =>
        InstanceIds.ForEvent(InstanceIds.Training, dataset, InstanceIds.MonitorKind, reason.Split(':')[0]);

    /// <summary>The run of a schedule's occurrence: one per tick, however many hosts handle it.</summary>
    public static string ForSchedule(string dataset, DateTimeOffset tick) =>
        InstanceIds.ForTick(InstanceIds.Training, dataset, tick);

    /// <summary>On-demand runs are distinct events: time-ordered and unique, so listings sort by start.</summary>
    public static string ForManual(string dataset) =>
        InstanceIds.ForManual(InstanceIds.Training, dataset, DateTimeOffset.UtcNow);
}
