using DurableTask.Core.History;

namespace Mlops.Host.Durable;

/// <summary>
/// Where the time of a sequential activity hop goes, read from the timestamps DTFx writes into an instance's history
/// (no instrumentation needed): <b>episode</b> = OrchestratorStarted → TaskScheduled (the orchestrator's invocation in
/// the worker); <b>activity</b> = TaskScheduled → TaskCompleted (checkpoint, work-item queue, the activity's
/// invocation);
/// <b>return</b> = TaskCompleted → the next OrchestratorStarted (control queue, session hand-over or history read).
/// </summary>
public static class HopBreakdown
{
    /// <summary>Per-hop medians and 90th percentiles of the three parts, one line; empty when the history has no
    /// hops.</summary>
    public static string Describe(IEnumerable<HistoryEvent> history)
    {
        var (episode, activity, back) = Measure(history);
        if (activity.Count == 0)
            return "no activity hops in the history";
        return $"per hop over {activity.Count} hops, median / p90 ms: episode {Fmt(episode)}, activity {Fmt(activity)}, return {Fmt(back)}";

        static string Fmt(List<double> values) =>
            values.Count == 0 ? "n/a" : $"{Percentile(values, 0.5):F1} / {Percentile(values, 0.9):F1}";
    }

    /// <summary>The three parts of every hop in milliseconds, in history order.</summary>
    public static (List<double> Episode, List<double> Activity, List<double> Return) Measure(
        IEnumerable<HistoryEvent> history
    )
    {
        List<double> episode = [],
            activity = [],
            back = [];
        var scheduledAt = new Dictionary<int, DateTime>();
        DateTime? episodeStart = null,
            lastCompletion = null;
        foreach (var e in history)
        {
            switch (e)
            {
                case OrchestratorStartedEvent:
                    if (lastCompletion is { } completed)
                        back.Add((e.Timestamp - completed).TotalMilliseconds);
                    lastCompletion = null;
                    episodeStart = e.Timestamp;
                    break;
                case TaskScheduledEvent scheduled:
                    scheduledAt[scheduled.EventId] = e.Timestamp;
                    if (episodeStart is { } start)
                        episode.Add((e.Timestamp - start).TotalMilliseconds);
                    episodeStart = null; // one episode part per episode, even when it schedules several tasks
                    break;
                case TaskCompletedEvent done when scheduledAt.TryGetValue(done.TaskScheduledId, out var at):
                    activity.Add((e.Timestamp - at).TotalMilliseconds);
                    lastCompletion = e.Timestamp;
                    break;
            }
        }
        return (episode, activity, back);
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
    }
}
