using Mlops.Durable.Core;

namespace Mlops.Durable.Tests;

/// <summary>The replay engine on its own: pure CPU over a hand-written history, no storage.</summary>
public sealed class ReplayTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static IOrchestrator Orchestrator(Func<OrchestrationContext, Task<object?>> f)
    {
        var registry = new DurableRegistry().AddOrchestrator("o", f);
        registry.TryCreateOrchestrator("o", null, out var o);
        return o;
    }

    private static List<HistoryEvent> Start() =>
    [
        new() { Type = HistoryEventType.OrchestratorStarted, Timestamp = T0 },
        new() { Type = HistoryEventType.ExecutionStarted, Name = "o", Input = "3", Timestamp = T0 },
    ];

    [Fact]
    public void First_episode_schedules_the_first_action_only()
    {
        var o = Orchestrator(async ctx => { await ctx.CallActivityAsync("A"); await ctx.CallActivityAsync("B"); return 1; });

        var result = OrchestrationRunner.Run(o, "i", [], Start(), 0, null);

        Assert.Equal(OrchestrationRuntimeStatus.Running, result.Status);
        var action = Assert.Single(result.NewActions);
        Assert.Equal((HistoryEventType.TaskScheduled, 0, "A"), (action.Type, action.EventId, action.Name));
    }

    [Fact]
    public void Replay_with_a_timer_where_history_has_an_activity_is_non_deterministic()
    {
        var past = Start();
        past.Add(new HistoryEvent { Type = HistoryEventType.TaskScheduled, EventId = 0, Name = "A", Timestamp = T0 });
        var fresh = new List<HistoryEvent>
        {
            new() { Type = HistoryEventType.OrchestratorStarted, Timestamp = T0.AddSeconds(1) },
            new() { Type = HistoryEventType.TaskCompleted, TaskId = 0, Result = "null", Timestamp = T0.AddSeconds(1) },
        };
        var o = Orchestrator(async ctx => { await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddMinutes(1)); return 1; });

        var result = OrchestrationRunner.Run(o, "i", past, fresh, 0, null);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Status);
        Assert.Contains("at sequence 0 expected TaskScheduled 'A' (from history) but the orchestrator produced TimerCreated 'timer'", result.Failure!.ErrorMessage);
    }

    [Fact]
    public void Completed_replay_returns_output_and_time_comes_from_history()
    {
        var past = Start();
        past.Add(new HistoryEvent { Type = HistoryEventType.TimerCreated, EventId = 0, Name = "timer", FireAt = T0.AddMinutes(5), Timestamp = T0 });
        var fresh = new List<HistoryEvent>
        {
            new() { Type = HistoryEventType.OrchestratorStarted, Timestamp = T0.AddMinutes(5) },
            new() { Type = HistoryEventType.TimerFired, TaskId = 0, Timestamp = T0.AddMinutes(5) },
        };
        var o = Orchestrator(async ctx =>
        {
            var start = ctx.CurrentUtcDateTime;
            await ctx.CreateTimer(start.AddMinutes(5));
            return (ctx.CurrentUtcDateTime - start).TotalMinutes * ctx.GetInput<int>();
        });

        var result = OrchestrationRunner.Run(o, "i", past, fresh, 0, null);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.Status);
        Assert.Equal("15", result.Output);
        Assert.Empty(result.NewActions);
    }
}
