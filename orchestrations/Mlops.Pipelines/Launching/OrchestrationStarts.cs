using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Mlops.Pipelines.Launching;

/// <summary>
/// The one idempotent start of every orchestration the app starts (training runs, monitor runs, and any new one):
/// with an id from <see cref="InstanceIds"/>, a trigger handled twice starts one run.
/// </summary>
/// <remarks>
/// What happens when an instance with the id already exists:
/// <list type="bullet">
/// <item><b>none</b>: it is scheduled.</item>
/// <item><b>Pending</b> for less than <see cref="StuckAfter"/>: found; nothing is started (the start message is on its
/// way: a trigger delivered twice in a row must not start it again, and durabletask's in-memory backend resets an
/// instance that is scheduled twice).</item>
/// <item><b>Pending</b> for longer: scheduled again. DTFx's Azure Storage backend writes the instance row before the
/// start message, so a start interrupted in between (a crash, a storage outage) leaves a Pending row with no message
/// that only a new start un-sticks; if the first message did go out, the dispatcher drops the second.</item>
/// <item><b>Running</b>, <b>Suspended</b>: found; nothing is started.</item>
/// <item><b>Completed</b>, <b>Failed</b>, <b>Terminated</b>: found; nothing is started. Durable Functions would start a
/// new execution under a finished id, so the check comes first: a redelivered trigger must not re-run an event already
/// handled, and a failure is an outcome (rejected data, a bad config) to be read, not retried by a duplicate
/// event. A failed run is run again on purpose with <c>POST /api/orchestrations/{id}/restart</c> or a new
/// request.</item>
/// </list>
/// Two processes racing on the same id: the loser's schedule is rejected, it reads the instance and returns its id;
/// if the instance is still not visible (or still Pending) the error is rethrown for the trigger to retry.
/// </remarks>
public static class OrchestrationStarts
{
    /// <summary>How long an instance may stay Pending before a start with its id schedules it again.</summary>
    public static readonly TimeSpan StuckAfter = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Starts <paramref name="orchestrator"/> as <paramref name="instanceId"/> unless that instance already exists (see
    /// the remarks on <see cref="OrchestrationStarts"/>); returns the instance id either way.
    /// </summary>
    /// <param name="client">The durable client.</param>
    /// <param name="orchestrator">The orchestrator's task name (its class name, e.g.
    /// <c>nameof(TrainingPipeline)</c>).</param>
    /// <param name="input">The orchestration's input.</param>
    /// <param name="instanceId">The instance id, from <see cref="InstanceIds"/>.</param>
    /// <param name="cancellationToken">Cancels the calls to the task hub.</param>
    public static async Task<string> StartOnceAsync(
        DurableTaskClient client,
        TaskName orchestrator,
        object? input,
        string instanceId,
        CancellationToken cancellationToken = default
    ) =>
        (
            await TryStartOnceAsync(client, orchestrator, input, instanceId, cancellationToken).ConfigureAwait(false)
        ).InstanceId;

    /// <summary>
    /// <see cref="StartOnceAsync"/>, also telling whether this call scheduled the instance (false: it existed, or a
    /// racing process scheduled it first) — for answers that say "started" or "already running".
    /// </summary>
    /// <param name="client">The durable client.</param>
    /// <param name="orchestrator">The orchestrator's task name.</param>
    /// <param name="input">The orchestration's input.</param>
    /// <param name="instanceId">The instance id, from <see cref="InstanceIds"/> or a content-derived id.</param>
    /// <param name="cancellationToken">Cancels the calls to the task hub.</param>
    public static async Task<(string InstanceId, bool Started)> TryStartOnceAsync(
        DurableTaskClient client,
        TaskName orchestrator,
        object? input,
        string instanceId,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        if (await IsStartedAsync(client, instanceId, cancellationToken).ConfigureAwait(false))
            return (instanceId, false);
        try
        {
            await client
                .ScheduleNewOrchestrationInstanceAsync(
                    orchestrator,
                    input,
                    new StartOrchestrationOptions(instanceId),
                    cancellationToken
                )
                .ConfigureAwait(false);
            return (instanceId, true);
        }
        catch (InvalidOperationException)
        {
            // A racing process started it first; anything else is a real failure for the trigger to retry.
            if (await IsStartedAsync(client, instanceId, cancellationToken).ConfigureAwait(false))
                return (instanceId, false);
            throw;
        }
    }

    /// <summary>True when the instance exists, unless it has been Pending so long that its start message may be
    /// lost.</summary>
    private static async Task<bool> IsStartedAsync(
        DurableTaskClient client,
        string instanceId,
        CancellationToken cancellationToken
    ) =>
        await client.GetInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false) switch
        {
            null => false,
            { RuntimeStatus: OrchestrationRuntimeStatus.Pending } pending => DateTimeOffset.UtcNow - pending.CreatedAt
                < StuckAfter,
            _ => true,
        };
}
