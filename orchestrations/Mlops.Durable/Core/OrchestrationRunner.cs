using Microsoft.Extensions.Logging;

namespace Mlops.Durable.Core;

/// <summary>Outcome of one replay: the state the orchestrator reached and the actions it took that history lacks.</summary>
internal sealed record EpisodeResult(
    OrchestrationRuntimeStatus Status,
    string? Output,
    FailureDetails? Failure,
    string? ContinueAsNewInput,
    IReadOnlyList<HistoryEvent> NewActions,
    IReadOnlyList<(string Name, string? Input)> CarryOverEvents,
    string? CustomStatus);

/// <summary>
/// Replays an orchestrator over its history (<c>past</c>, already checkpointed) and the events that woke it
/// (<c>fresh</c>), on a private single-threaded scheduler. Pure CPU: no I/O, so it is trivially deterministic to test.
/// </summary>
internal static class OrchestrationRunner
{
    public static EpisodeResult Run(IOrchestrator orchestrator, string instanceId, IReadOnlyList<HistoryEvent> past,
        IReadOnlyList<HistoryEvent> fresh, int execution, ILoggerFactory? loggerFactory)
    {
        var started = past.Concat(fresh).FirstOrDefault(e => e.Type == HistoryEventType.ExecutionStarted)
            ?? throw new InvalidOperationException($"History of '{instanceId}' has no ExecutionStarted event.");
        var scheduler = new ReplayScheduler();
        var context = new ReplayContext(instanceId, started.Name!, execution, started.Input, loggerFactory);
        Task<object?>? run = null;
        bool suspended = false;
        var deferred = new List<HistoryEvent>();

        void Apply(HistoryEvent e)
        {
            switch (e.Type)
            {
                case HistoryEventType.OrchestratorStarted:
                    context.Now = e.Timestamp;
                    return;
                case HistoryEventType.ExecutionSuspended:
                    suspended = true;
                    return;
                case HistoryEventType.ExecutionResumed:
                    suspended = false;
                    var held = deferred.ToList();
                    deferred.Clear();
                    foreach (var h in held) Apply(h);
                    return;
            }
            // While suspended, events are recorded but applied only when the instance resumes.
            if (suspended && e.Type is not (HistoryEventType.TaskScheduled or HistoryEventType.TimerCreated or HistoryEventType.SubOrchestrationCreated))
            {
                deferred.Add(e);
                return;
            }
            switch (e.Type)
            {
                case HistoryEventType.ExecutionStarted:
                    if (context.Now == default) context.Now = e.Timestamp;
                    run = Task.Factory.StartNew(() => orchestrator.RunAsync(context), CancellationToken.None, TaskCreationOptions.None, scheduler).Unwrap();
                    break;
                case HistoryEventType.TaskScheduled or HistoryEventType.TimerCreated or HistoryEventType.SubOrchestrationCreated:
                    context.MatchRecordedAction(e);
                    break;
                case HistoryEventType.TaskCompleted or HistoryEventType.SubOrchestrationCompleted:
                    context.Complete(e.TaskId, e.Result);
                    break;
                case HistoryEventType.TimerFired:
                    context.Complete(e.TaskId, null);
                    break;
                case HistoryEventType.TaskFailed or HistoryEventType.SubOrchestrationFailed:
                    context.Fail(e.TaskId, e.Failure ?? new FailureDetails("Unknown", "Task failed."));
                    break;
                case HistoryEventType.EventRaised:
                    context.DeliverEvent(e.Name ?? "", e.Input);
                    break;
            }
            scheduler.RunPending();
        }

        try
        {
            context.Replaying = true;
            foreach (var e in past) Apply(e);
            context.Replaying = false;
            foreach (var e in fresh) Apply(e);
            scheduler.RunPending();
        }
        catch (NonDeterministicOrchestrationException ex)
        {
            return new EpisodeResult(OrchestrationRuntimeStatus.Failed, null, FailureDetails.FromException(ex), null, [], [], context.CustomStatusJson);
        }

        if (run is { IsCompleted: true })
        {
            if (run.IsFaulted)
            {
                var ex = run.Exception!.InnerExceptions.Count == 1 ? run.Exception.InnerExceptions[0] : run.Exception;
                return new EpisodeResult(OrchestrationRuntimeStatus.Failed, null, FailureDetails.FromException(ex), null, [], [], context.CustomStatusJson);
            }
            if (run.IsCanceled)
                return new EpisodeResult(OrchestrationRuntimeStatus.Failed, null, new FailureDetails(typeof(TaskCanceledException).FullName!, "The orchestrator was canceled."), null, [], [], context.CustomStatusJson);
            // Work the orchestrator fired and forgot is still scheduled; timers are pointless once it has finished.
            var leftovers = context.UnmatchedActions.Where(a => a.Type != HistoryEventType.TimerCreated).ToList();
            if (context.ContinueAsNewRequested)
                return new EpisodeResult(OrchestrationRuntimeStatus.ContinuedAsNew, null, null, context.ContinueAsNewInput, leftovers, context.BufferedEvents.ToList(), context.CustomStatusJson);
            return new EpisodeResult(OrchestrationRuntimeStatus.Completed, DurableJson.Serialize(run.Result), null, null, leftovers, [], context.CustomStatusJson);
        }
        return new EpisodeResult(suspended ? OrchestrationRuntimeStatus.Suspended : OrchestrationRuntimeStatus.Running,
            null, null, null, context.UnmatchedActions.ToList(), [], context.CustomStatusJson);
    }
}
