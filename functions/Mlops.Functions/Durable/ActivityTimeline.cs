using DurableTask.Core.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Mlops.Core;
using Mlops.Core.Errors;

namespace Mlops.Functions.Durable;

/// <summary>One activity call of a run: when it was scheduled and finished, and how it ended.</summary>
public sealed record ActivitySpan(int TaskId, string Name, DateTime ScheduledAt, DateTime? FinishedAt, double? Seconds, string Status, string? Failure);

/// <summary>
/// The activities of an orchestration with their durations (<c>GET /api/orchestrations/{id}/activities</c>), read from
/// its history: a TaskScheduled event and the TaskCompleted/TaskFailed event that names its id. The raw history gives
/// only the events; the dashboard's Pipelines page shows where a run spent its time and what failed.
/// </summary>
public static class ActivityTimeline
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(OrchestrationManagement.Prefix + "/{id}/activities", async (string id, DurableTaskClient client, CancellationToken ct) =>
        {
            _ = await client.GetInstanceAsync(id, ct) ?? throw new NotFoundException("orchestration.not_found", $"Instance '{id}' does not exist.");
            var spans = FromHistory(await client.GetOrchestrationHistoryAsync(id, ct));
            return Results.Json(new { instanceId = id, activities = spans }, Json.Options);
        }).WithTags("Orchestrations").WithSummary("The run's activity calls with start, end, duration and failure message (from its history).")
          .Produces<ActivitySpan[]>();

    /// <summary>Pairs each scheduled activity with its outcome; replayed duplicates (same task id) count once.</summary>
    public static IReadOnlyList<ActivitySpan> FromHistory(IEnumerable<HistoryEvent> history)
    {
        var spans = new Dictionary<int, ActivitySpan>();
        foreach (var e in history)
        {
            switch (e)
            {
                case TaskScheduledEvent s when !spans.ContainsKey(s.EventId):
                    spans[s.EventId] = new ActivitySpan(s.EventId, s.Name ?? "?", s.Timestamp, null, null, "running", null);
                    break;
                case TaskCompletedEvent c when spans.TryGetValue(c.TaskScheduledId, out var span):
                    spans[c.TaskScheduledId] = Finish(span, c.Timestamp, "completed", null);
                    break;
                case TaskFailedEvent f when spans.TryGetValue(f.TaskScheduledId, out var span):
                    spans[f.TaskScheduledId] = Finish(span, f.Timestamp, "failed", f.FailureDetails?.ErrorMessage ?? f.Reason);
                    break;
            }
        }
        return spans.Values.OrderBy(s => s.ScheduledAt).ThenBy(s => s.TaskId).ToList();
    }

    private static ActivitySpan Finish(ActivitySpan span, DateTime at, string status, string? failure) =>
        span with { FinishedAt = at, Seconds = Math.Max(0, (at - span.ScheduledAt).TotalSeconds), Status = status, Failure = failure };
}
