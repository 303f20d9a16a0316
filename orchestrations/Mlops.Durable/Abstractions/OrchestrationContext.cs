using Microsoft.Extensions.Logging;

namespace Mlops.Durable;

/// <summary>
/// What an orchestrator sees while it runs. Orchestrators are ordinary async C# that the engine replays from the
/// instance's event history after every wake-up, so the code must be deterministic: take time from
/// <see cref="CurrentUtcDateTime"/>, ids from <see cref="NewGuid"/>, and do all I/O in activities.
/// </summary>
/// <remarks>
/// Do not use <c>ConfigureAwait(false)</c>, <c>Task.Run</c>, <c>Task.Delay</c> or real I/O inside an orchestrator:
/// the engine runs orchestrator code on its own single-threaded scheduler, and continuations that leave it are not
/// replayed. An abstract class (not an interface) so tests can subclass it and members can be added later.
/// </remarks>
public abstract class OrchestrationContext
{
    /// <summary>Id of this orchestration instance.</summary>
    public abstract string InstanceId { get; }

    /// <summary>Registered name of the orchestrator.</summary>
    public abstract string Name { get; }

    /// <summary>Replay-safe current time: the time the current episode started, identical on every replay.</summary>
    public abstract DateTime CurrentUtcDateTime { get; }

    /// <summary>True while the orchestrator re-executes code whose effects are already recorded in history.</summary>
    public abstract bool IsReplaying { get; }

    /// <summary>The orchestration input, deserialized with System.Text.Json (project options).</summary>
    public abstract T GetInput<T>();

    /// <summary>Schedules an activity and returns its result. Failures surface as <see cref="TaskFailedException"/>.</summary>
    /// <param name="name">Registered activity name.</param>
    /// <param name="input">Input, serialized to JSON.</param>
    /// <param name="options">Optional retry policy.</param>
    public abstract Task<T> CallActivityAsync<T>(string name, object? input = null, TaskOptions? options = null);

    /// <summary>Schedules an activity whose result is not needed.</summary>
    public virtual Task CallActivityAsync(string name, object? input = null, TaskOptions? options = null) =>
        CallActivityAsync<object?>(name, input, options);

    /// <summary>Durable timer: completes at <paramref name="fireAtUtc"/> even across process restarts.</summary>
    /// <param name="fireAtUtc">UTC time at which the timer fires.</param>
    /// <param name="cancellationToken">Cancels the wait (the timer task becomes canceled); use to abandon a timeout.</param>
    public abstract Task CreateTimer(DateTime fireAtUtc, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for an event raised with <see cref="DurableClient.RaiseEventAsync"/>. Events raised before the wait are
    /// buffered and delivered in order. With a <paramref name="timeout"/>, a durable timer races the event and a
    /// <see cref="TimeoutException"/> is thrown if the timer wins.
    /// </summary>
    public abstract Task<T> WaitForExternalEvent<T>(string name, TimeSpan? timeout = null);

    /// <summary>Starts a child orchestration and returns its output. Failures surface as <see cref="TaskFailedException"/>.</summary>
    /// <param name="name">Registered orchestrator name.</param>
    /// <param name="input">Input of the child.</param>
    /// <param name="instanceId">Child instance id; default derives a deterministic id from this instance.</param>
    /// <param name="options">Optional retry policy (each attempt gets its own child instance).</param>
    public abstract Task<T> CallSubOrchestrationAsync<T>(string name, object? input = null, string? instanceId = null, TaskOptions? options = null);

    /// <summary>
    /// Restarts this instance with a new input and an empty history once the orchestrator returns (its return value is
    /// ignored). External events not yet consumed are carried over to the new execution.
    /// </summary>
    public abstract void ContinueAsNew(object? input);

    /// <summary>Sets a JSON-serializable status visible through <see cref="DurableClient.GetStatusAsync"/>.</summary>
    public abstract void SetCustomStatus(object? status);

    /// <summary>Replay-safe GUID, deterministic for this instance and call order.</summary>
    public abstract Guid NewGuid();

    /// <summary>A logger that drops messages while <see cref="IsReplaying"/> is true, so each line is written once.</summary>
    public abstract ILogger CreateReplaySafeLogger(string category);
}
