using DurableTask.Core.History;

namespace Mlops.Functions.Handlers;

/// <summary>One activity call of a run: when it was scheduled and finished, and how it ended.</summary>
public sealed record ActivitySpan(
    int TaskId,
    string Name,
    DateTime ScheduledAt,
    DateTime? FinishedAt,
    double? Seconds,
    string Status,
    string? Failure
);

/// <summary>
/// The activities of an orchestration with their durations (<c>GET /api/orchestrations/{id}/activities</c>), read from
/// its history (for <see cref="OrchestrationHandler.ActivitiesAsync"/>): a TaskScheduled event and the
/// TaskCompleted/TaskFailed event that names its id. The raw history gives only the events; the dashboard's Pipelines
/// page shows where a run spent its time and what failed.
/// </summary>
public static class ActivityTimeline
{
    /// <summary>Pairs each scheduled activity with its outcome; replayed duplicates (same task id) count
    /// once.</summary>
    public static IReadOnlyList<ActivitySpan> FromHistory(IEnumerable<HistoryEvent> history)
    {
        var spans = new Dictionary<int, ActivitySpan>();
        foreach (var e in history)
        {
            switch (e)
            {
                case TaskScheduledEvent s when !spans.ContainsKey(s.EventId):
                    spans[s.EventId] = new ActivitySpan(
                        s.EventId,
                        s.Name ?? "?",
                        s.Timestamp,
                        null,
                        null,
                        "running",
                        null
                    );
                    break;
                case TaskCompletedEvent c when spans.TryGetValue(c.TaskScheduledId, out var span):
                    spans[c.TaskScheduledId] = Finish(span, c.Timestamp, "completed", null);
                    break;
                case TaskFailedEvent f when spans.TryGetValue(f.TaskScheduledId, out var span):
                    spans[f.TaskScheduledId] = Finish(
                        span,
                        f.Timestamp,
                        "failed",
                        f.FailureDetails?.ErrorMessage ?? f.Reason
                    );
                    break;
            }
        }
        return spans.Values.OrderBy(s => s.ScheduledAt).ThenBy(s => s.TaskId).ToList();
    }

    private static ActivitySpan Finish(ActivitySpan span, DateTime at, string status, string? failure) =>
        span with
        {
            FinishedAt = at,
            Seconds = Math.Max(0, (at - span.ScheduledAt).TotalSeconds),
            Status = status,
            Failure = failure,
        };
}
