using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mlops.Durable.Tests;

public sealed class OrchestrationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private Task<DurableTestHost> Host(Action<DurableRegistry> register, Action<DurableWorkerOptions>? configure = null,
        IServiceProvider? services = null, ILoggerFactory? loggerFactory = null) =>
        DurableTestHost.StartAsync(azurite.ConnectionString, register, configure, services, loggerFactory);

    [Fact]
    public async Task Sequence_of_activities_returns_their_combined_output()
    {
        await using var host = await Host(r => r
            .AddOrchestrator("Hello", async ctx =>
            {
                var names = ctx.GetInput<string[]>();
                var parts = new List<string>();
                foreach (var n in names) parts.Add(await ctx.CallActivityAsync<string>("Greet", n));
                return string.Join(" ", parts);
            })
            .AddActivity("Greet", ctx => Task.FromResult<object?>($"hello {ctx.GetInput<string>()}")));

        var status = (await host.RunAsync("Hello", new[] { "a", "b", "c" })).ShouldBeCompletedOrFailed();

        status.ShouldBeCompleted();
        Assert.Equal("hello a hello b hello c", status.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Fan_out_fan_in_runs_every_activity_once_with_distinct_idempotency_keys()
    {
        var keys = new ConcurrentBag<string>();
        await using var host = await Host(r => r
            .AddOrchestrator("Fan", async ctx =>
            {
                var results = await Task.WhenAll(Enumerable.Range(1, 60).Select(i => ctx.CallActivityAsync<int>("Square", i)));
                return results.Sum();
            })
            .AddActivity("Square", ctx => { keys.Add(ctx.IdempotencyKey); int i = ctx.GetInput<int>(); return Task.FromResult<object?>(i * i); }));

        var status = (await host.RunAsync("Fan", instanceId: "fan-1")).ShouldBeCompletedOrFailed();
        if (status.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
        {
            var h = await host.Client.GetStatusAsync("fan-1", true);
            Assert.Fail(string.Join("\n", h!.History!.Select(e => $"{e.Type} id={e.EventId} task={e.TaskId} {e.Timestamp:HH:mm:ss.fff}")));
        }

        status.ShouldBeCompleted();
        Assert.Equal(Enumerable.Range(1, 60).Sum(i => i * i), status.ReadOutputAs<int>());
        Assert.Equal(60, keys.Distinct().Count());
        Assert.All(keys, k => Assert.StartsWith("fan-1:0:", k));
    }

    [Fact]
    public async Task WhenAny_between_activity_and_timer_takes_the_first_to_finish()
    {
        await using var host = await Host(r => r
            .AddOrchestrator("Race", async ctx =>
            {
                using var cts = new CancellationTokenSource();
                var timer = ctx.CreateTimer(ctx.CurrentUtcDateTime.AddSeconds(30), cts.Token);
                var work = ctx.CallActivityAsync<string>("Quick");
                var winner = await Task.WhenAny(work, timer);
                cts.Cancel();
                return winner == work ? await work : "timer";
            })
            .AddActivity("Quick", _ => Task.FromResult<object?>("activity")));

        var status = (await host.RunAsync("Race")).ShouldBeCompletedOrFailed();

        Assert.Equal("activity", status.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Retry_policy_retries_with_exponential_backoff_until_success()
    {
        var attempts = new ConcurrentQueue<DateTime>();
        await using var host = await Host(r => r
            .AddOrchestrator("Flaky", async ctx =>
                await ctx.CallActivityAsync<string>("FailTwice", null, new TaskOptions(new RetryPolicy(4, TimeSpan.FromMilliseconds(300), 2))))
            .AddActivity("FailTwice", _ =>
            {
                attempts.Enqueue(DateTime.UtcNow);
                if (attempts.Count < 3) throw new InvalidOperationException("transient " + attempts.Count);
                return Task.FromResult<object?>("ok");
            }));

        var status = (await host.RunAsync("Flaky")).ShouldBeCompletedOrFailed();

        status.ShouldBeCompleted();
        Assert.Equal("ok", status.ReadOutputAs<string>());
        var t = attempts.ToArray();
        Assert.Equal(3, t.Length);
        Assert.True(t[1] - t[0] >= TimeSpan.FromMilliseconds(280), $"first delay {(t[1] - t[0]).TotalMilliseconds} ms");
        Assert.True(t[2] - t[1] >= TimeSpan.FromMilliseconds(580), $"second delay {(t[2] - t[1]).TotalMilliseconds} ms (backoff ×2)");
    }

    [Fact]
    public async Task Exhausted_retries_surface_TaskFailedException_with_failure_details()
    {
        int calls = 0;
        await using var host = await Host(r => r
            .AddOrchestrator("Catch", async ctx =>
            {
                try
                {
                    await ctx.CallActivityAsync("Boom", null, TaskOptions.WithRetry(2, TimeSpan.FromMilliseconds(100)));
                    return "no error";
                }
                catch (TaskFailedException e)
                {
                    return $"{e.TaskName}|{e.FailureDetails.ErrorType}|{e.FailureDetails.ErrorMessage}|{e.FailureDetails.StackTrace is not null}";
                }
            })
            .AddActivity("Boom", _ => { Interlocked.Increment(ref calls); throw new ArgumentOutOfRangeException("x", "bad value"); }));

        var status = (await host.RunAsync("Catch")).ShouldBeCompletedOrFailed();

        Assert.Equal(2, calls);
        Assert.StartsWith("Boom|System.ArgumentOutOfRangeException|bad value", status.ReadOutputAs<string>());
        Assert.EndsWith("|True", status.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Unhandled_activity_failure_fails_the_instance_with_details()
    {
        await using var host = await Host(r => r
            .AddOrchestrator("Unhandled", async ctx => await ctx.CallActivityAsync<int>("Boom"))
            .AddActivity("Boom", _ => throw new FormatException("cannot parse")));

        var status = (await host.RunAsync("Unhandled")).ShouldBeCompletedOrFailed();

        Assert.Equal(OrchestrationRuntimeStatus.Failed, status.RuntimeStatus);
        Assert.Equal(typeof(TaskFailedException).FullName, status.FailureDetails!.ErrorType);
        Assert.True(status.FailureDetails.IsCausedBy<FormatException>());
        Assert.Contains("cannot parse", status.FailureDetails.ErrorMessage);
    }

    [Fact]
    public async Task Durable_timer_delays_the_orchestration()
    {
        await using var host = await Host(r => r.AddOrchestrator("Sleep", async ctx =>
        {
            var start = ctx.CurrentUtcDateTime;
            await ctx.CreateTimer(start.AddMilliseconds(1500));
            return (ctx.CurrentUtcDateTime - start).TotalMilliseconds;
        }));
        var sw = System.Diagnostics.Stopwatch.StartNew();

        var status = (await host.RunAsync("Sleep")).ShouldBeCompletedOrFailed();

        status.ShouldBeCompleted();
        Assert.True(status.ReadOutputAs<double>() >= 1500);
        Assert.InRange(sw.Elapsed.TotalSeconds, 1.5, 10);
    }

    private static DurableRegistry Approval(DurableRegistry r) => r.AddOrchestrator("Approval", async ctx =>
    {
        ctx.SetCustomStatus(new { stage = "awaiting approval" });
        try
        {
            bool approved = await ctx.WaitForExternalEvent<bool>("Approval", TimeSpan.FromSeconds(ctx.GetInput<int>()));
            return approved ? "approved" : "rejected";
        }
        catch (TimeoutException)
        {
            return "timed out";
        }
    });

    [Fact]
    public async Task Approval_event_arrives_before_timeout()
    {
        await using var host = await Host(r => Approval(r));
        string id = await host.Client.StartNewAsync("Approval", 30);
        await WaitForAsync(async () => (await host.Client.GetStatusAsync(id))?.RuntimeStatus == OrchestrationRuntimeStatus.Running);
        var running = await host.Client.GetStatusAsync(id);
        Assert.Contains("awaiting approval", running!.CustomStatus);

        await host.Client.RaiseEventAsync(id, "Approval", true);
        var status = await host.Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(20));

        Assert.Equal("approved", status.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Approval_times_out_on_durable_timer()
    {
        await using var host = await Host(r => Approval(r));
        var sw = System.Diagnostics.Stopwatch.StartNew();

        var status = (await host.RunAsync("Approval", 1)).ShouldBeCompletedOrFailed();

        Assert.Equal("timed out", status.ReadOutputAs<string>());
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Events_raised_before_the_wait_are_buffered_in_order()
    {
        await using var host = await Host(r => r.AddOrchestrator("Collect", async ctx =>
        {
            await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddMilliseconds(800));
            var a = await ctx.WaitForExternalEvent<string>("item");
            var b = await ctx.WaitForExternalEvent<string>("item");
            return a + b;
        }));
        string id = await host.Client.StartNewAsync("Collect");
        await host.Client.RaiseEventAsync(id, "item", "x");
        await host.Client.RaiseEventAsync(id, "item", "y");

        var status = await host.Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(20));

        Assert.Equal("xy", status.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Sub_orchestration_returns_output_and_propagates_failure()
    {
        await using var host = await Host(r => r
            .AddOrchestrator("Parent", async ctx =>
            {
                int doubled = await ctx.CallSubOrchestrationAsync<int>("Child", 21);
                try { await ctx.CallSubOrchestrationAsync<int>("Child", -1, instanceId: ctx.InstanceId + "-bad"); }
                catch (TaskFailedException e) { return $"{doubled}|{e.FailureDetails.ErrorMessage}"; }
                return "no failure";
            })
            .AddOrchestrator("Child", async ctx =>
            {
                int x = ctx.GetInput<int>();
                if (x < 0) throw new InvalidOperationException("negative input");
                return await ctx.CallActivityAsync<int>("Double", x);
            })
            .AddActivity("Double", ctx => Task.FromResult<object?>(ctx.GetInput<int>() * 2)));

        var status = (await host.RunAsync("Parent", instanceId: "parent-1")).ShouldBeCompletedOrFailed();

        status.ShouldBeCompleted();
        Assert.Equal("42|negative input", status.ReadOutputAs<string>());
        var child = await host.Client.GetStatusAsync("parent-1-bad");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, child!.RuntimeStatus);
    }

    [Fact]
    public async Task ContinueAsNew_restarts_with_new_input_and_fresh_history()
    {
        await using var host = await Host(r => r.AddOrchestrator("Counter", async ctx =>
        {
            int n = ctx.GetInput<int>();
            await ctx.CallActivityAsync("Noop");
            if (n < 4) { ctx.ContinueAsNew(n + 1); return null; }
            return n;
        }).AddActivity("Noop", _ => Task.FromResult<object?>(null)));

        var status = (await host.RunAsync("Counter", 0, "counter-1")).ShouldBeCompletedOrFailed();
        var withHistory = await host.Client.GetStatusAsync("counter-1", includeHistory: true);

        status.ShouldBeCompleted();
        Assert.Equal(4, status.ReadOutputAs<int>());
        Assert.Equal(4, status.Execution);
        Assert.Single(withHistory!.History!, e => e.Type == HistoryEventType.TaskScheduled);
        Assert.Equal("4", withHistory.Input);
    }

    [Fact]
    public async Task NewGuid_and_CurrentUtcDateTime_are_replay_safe()
    {
        var seen = new ConcurrentQueue<string>();
        await using var host = await Host(r => r
            .AddOrchestrator("Det", async ctx =>
            {
                var g1 = ctx.NewGuid();
                var t1 = ctx.CurrentUtcDateTime;
                await ctx.CallActivityAsync("Record", $"{g1}|{t1:O}");
                await ctx.CallActivityAsync("Record", "second");
                var g2 = ctx.NewGuid();
                return $"{g1}|{t1:O}|{g2}";
            })
            .AddActivity("Record", ctx => { seen.Enqueue(ctx.GetInput<string>()); return Task.FromResult<object?>(null); }));

        var status = (await host.RunAsync("Det")).ShouldBeCompletedOrFailed();
        string output = status.ReadOutputAs<string>()!;

        Assert.StartsWith(seen.First(), output);   // values computed in episode 1 equal the replayed ones in episode 3
        var parts = output.Split('|');
        Assert.NotEqual(parts[0], parts[2]);
    }

    [Fact]
    public async Task Replay_safe_logger_writes_each_line_once()
    {
        var lines = new ConcurrentQueue<string>();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(lines)).SetMinimumLevel(LogLevel.Information));
        await using var host = await Host(r => r
            .AddOrchestrator("Logged", async ctx =>
            {
                var log = ctx.CreateReplaySafeLogger("Pipeline");
                for (int i = 0; i < 4; i++)
                {
                    log.LogInformation("step {Step}", i);
                    await ctx.CallActivityAsync("Noop");
                }
                return null;
            })
            .AddActivity("Noop", _ => Task.FromResult<object?>(null)), loggerFactory: factory);

        await host.RunAsync("Logged");

        Assert.Equal(["step 0", "step 1", "step 2", "step 3"], lines.Where(l => l.StartsWith("Pipeline:")).Select(l => l["Pipeline:".Length..]));
    }

    private static int nondeterministicRuns;

    [Fact]
    public async Task Non_deterministic_replay_fails_the_instance_naming_the_mismatch()
    {
        await using var host = await Host(r => r
            .AddOrchestrator("Drift", async ctx =>
            {
                // Simulates a redeploy that changed the code: the second replay schedules a different activity.
                string name = Interlocked.Increment(ref nondeterministicRuns) == 1 ? "A" : "B";
                await ctx.CallActivityAsync(name);
                await ctx.CallActivityAsync("A");
                return null;
            })
            .AddActivity("A", _ => Task.FromResult<object?>(null))
            .AddActivity("B", _ => Task.FromResult<object?>(null)));

        var status = (await host.RunAsync("Drift")).ShouldBeCompletedOrFailed();

        Assert.Equal(OrchestrationRuntimeStatus.Failed, status.RuntimeStatus);
        Assert.Equal(typeof(NonDeterministicOrchestrationException).FullName, status.FailureDetails!.ErrorType);
        Assert.Contains("at sequence 0 expected TaskScheduled 'A' (from history) but the orchestrator produced TaskScheduled 'B'", status.FailureDetails.ErrorMessage);
    }

    [Fact]
    public async Task Large_payloads_spill_to_blobs_and_round_trip()
    {
        string big = new('x', 300_000);
        await using var host = await Host(r => r
            .AddOrchestrator("Big", async ctx => await ctx.CallActivityAsync<string>("Echo", ctx.GetInput<string>()))
            .AddActivity("Echo", ctx => Task.FromResult<object?>(ctx.GetInput<string>() + "!")));

        var status = (await host.RunAsync("Big", big)).ShouldBeCompletedOrFailed();
        var withHistory = await host.Client.GetStatusAsync(status.InstanceId, includeHistory: true);

        Assert.Equal(big + "!", status.ReadOutputAs<string>());
        Assert.Equal(big, withHistory!.ReadInputAs<string>());
        Assert.Contains(withHistory.History!, e => e.Type == HistoryEventType.TaskCompleted && e.Result!.Length > 300_000);
    }

    public sealed class GreetingService { public string Prefix => "dear "; }

    public sealed class GreetActivity(GreetingService service) : Activity<string, string>
    {
        public override Task<string> RunAsync(ActivityContext context, string input) => Task.FromResult(service.Prefix + input);
    }

    public sealed class GreetOrchestrator : Orchestrator<string, string>
    {
        public override Task<string> RunAsync(OrchestrationContext context, string input) =>
            context.CallActivityAsync<string>(nameof(GreetActivity), input);
    }

    [Fact]
    public async Task Class_based_activities_get_constructor_injection_from_the_service_provider()
    {
        var services = new ServiceCollection().AddSingleton<GreetingService>().BuildServiceProvider();
        await using var host = await Host(r => r.AddOrchestrator<GreetOrchestrator>().AddActivity<GreetActivity>(), services: services);

        var status = (await host.RunAsync(nameof(GreetOrchestrator), "reader")).ShouldBeCompletedOrFailed();

        Assert.Equal("dear reader", status.ReadOutputAs<string>());
    }

    internal static async Task WaitForAsync(Func<Task<bool>> condition, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Condition not met in time.");
            await Task.Delay(50);
        }
    }

    private sealed class ListLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(categoryName, lines);
        public void Dispose() { }

        private sealed class ListLogger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{category}:{formatter(state, exception)}");
        }
    }
}
