namespace Mlops.Durable;

/// <summary>
/// What an activity sees while it runs. Activities run <b>at least once</b>: a crash after the work but before the
/// engine recorded the result runs it again. Use <see cref="IdempotencyKey"/> to detect and skip work already done.
/// </summary>
public abstract class ActivityContext
{
    /// <summary>Id of the orchestration instance that scheduled this activity.</summary>
    public abstract string InstanceId { get; }

    /// <summary>Registered activity name.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Stable key of this call (<c>instanceId:execution:eventId</c>): identical on every delivery of the same call,
    /// different for every other call, including retries of a failed call and later executions after ContinueAsNew.
    /// </summary>
    public abstract string IdempotencyKey { get; }

    /// <summary>Number of this attempt of the scheduled call, starting at 1 (deliveries after a crash count up).</summary>
    public virtual int DeliveryCount => 1;

    /// <summary>The activity input, deserialized with System.Text.Json (project options).</summary>
    public abstract T GetInput<T>();

    /// <summary>Signalled when the worker stops; the activity is then delivered again later.</summary>
    public abstract CancellationToken CancellationToken { get; }
}
