using System.Diagnostics;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Queues;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Durable.Local;

namespace Mlops.Bench.Durable;

/// <summary>
/// Engine benchmark: DTFx's Azure Storage backend (the engine of Durable Functions) with durabletask-dotnet
/// orchestrators, in one process, against a private in-memory Azurite. Sequential chain, fan-out/fan-in, concurrent
/// orchestrations, storage calls per hop and per idle minute, next to the raw Azurite queue cycle in the same run.
/// Usage: <c>durable [--quick] [--out FILE]</c>.
/// </summary>
public static class DurableBench
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        bool quick = args.Contains("--quick");
        int outIndex = Array.IndexOf(args, "--out");
        string outFile =
            outIndex >= 0 && outIndex + 1 < args.Length
                ? args[outIndex + 1]
                : Path.Combine(FindRepoRoot(), "bench", "out", "durable.md");
        var rows = new List<(string Metric, string Value, string Note)>();
        if (args.Contains("--host-only"))
        {
            await ThroughHostAsync(rows, quick);
            return Write(rows, quick, outFile);
        }
        await using var azurite = await Mlops.Testing.AzuriteInstance.StartAsync();

        double rawRate = await RawQueueCyclesAsync(azurite.ConnectionString, quick ? 150 : 400);
        rows.Add(
            ("Azurite raw queue put+get+delete (1 client)", $"{rawRate:F0} cycles/s", "peer-neutral limit, same run")
        );

        var counter = new CountingPolicy();
        var options = new LocalDurableOptions { TaskHubName = "bench" };
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddLocalDurableTask(
            TaskHubStorage.FromConnectionString(azurite.ConnectionString, counter),
            options,
            r =>
                r.AddActivityFunc<int, long>("Stamp", (_, _) => Stopwatch.GetTimestamp())
                    .AddActivityFunc<int, int>("Noop", (_, i) => i)
                    .AddOrchestratorFunc<int, long[]>("Chain", async (ctx, n) =>
                    {
                        var stamps = new long[n];
                        for (int i = 0; i < n; i++)
                            stamps[i] = await ctx.CallActivityAsync<long>("Stamp", i);
                        return stamps;
                    })
                    .AddOrchestratorFunc<int, int>("Fan", async (ctx, n) =>
                    {
                        var all = await Task.WhenAll(
                            Enumerable.Range(0, n).Select(i => ctx.CallActivityAsync<int>("Noop", i))
                        );
                        return all.Length;
                    })
        );
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        await RunOneAsync(client, "Chain", 5, 120); // warm-up: task hub creation, partition leases, JIT

        int chains = quick ? 2 : 5;
        var hops = new List<double>();
        long calls0 = counter.Count;
        var sw = Stopwatch.StartNew();
        for (int c = 0; c < chains; c++)
        {
            var status = await RunOneAsync(client, "Chain", 50, 300);
            var stamps = status.ReadOutputAs<long[]>()!;
            for (int i = 1; i < stamps.Length; i++)
                hops.Add((stamps[i] - stamps[i - 1]) * 1000.0 / Stopwatch.Frequency);
        }
        double seqRate = chains * 50 / sw.Elapsed.TotalSeconds;
        long chainCalls = counter.Count - calls0;
        hops.Sort();
        rows.Add(
            (
                "Sequential chain, 50 no-op activities",
                $"{seqRate:F0} activities/s",
                $"{chains} runs; home-made engine had 96/s; DF Azure Storage published ~5/s"
            )
        );
        rows.Add(
            (
                "  per-hop latency p50 / p99",
                $"{Pct(hops, 0.5):F1} / {Pct(hops, 0.99):F1} ms",
                "activity start to next activity start"
            )
        );
        rows.Add(
            (
                "  storage calls per hop",
                $"{(double)chainCalls / (chains * 50):F1}",
                "every request of the process, incl. polling and leases"
            )
        );

        int fan = quick ? 300 : 1000;
        sw.Restart();
        await RunOneAsync(client, "Fan", fan, 600);
        rows.Add(
            (
                $"Fan-out/fan-in, {fan} no-op activities",
                $"{fan / sw.Elapsed.TotalSeconds:F0} activities/s",
                "home-made engine had 339/s; DF Azure Storage published ~100/s"
            )
        );

        int concurrent = quick ? 40 : 100;
        sw.Restart();
        var ids = await Task.WhenAll(
            Enumerable.Range(0, concurrent).Select(_ => client.ScheduleNewOrchestrationInstanceAsync("Chain", 5))
        );
        foreach (var id in ids)
            await client.WaitForInstanceCompletionAsync(id);
        double orchRate = concurrent / sw.Elapsed.TotalSeconds;
        rows.Add(
            (
                $"{concurrent} concurrent 5-step orchestrations",
                $"{orchRate:F1} orchestrations/s ({orchRate * 5:F0} activities/s)",
                "home-made engine had 35/s"
            )
        );

        TimeSpan settle = TimeSpan.FromSeconds(quick ? 5 : 15),
            window = TimeSpan.FromSeconds(quick ? 10 : 30);
        await Task.Delay(settle);
        long idle0 = counter.Count;
        await Task.Delay(window);
        rows.Add(
            (
                "Idle worker, storage calls per minute",
                $"{(counter.Count - idle0) * 60 / window.TotalSeconds:F0}",
                $"{options.PartitionCount} partitions + work items, max poll {options.MaxQueuePollingInterval.TotalSeconds:F0} s, lease {options.LeaseInterval.TotalSeconds:F0} s"
            )
        );
        rows.Add(("Ratio: sequential hops/s ÷ raw queue cycles/s", $"{seqRate / rawRate:F2}", ""));
        await host.StopAsync();
        await ThroughHostAsync(rows, quick);
        return Write(rows, quick, outFile);
    }

    private static int Write(List<(string Metric, string Value, string Note)> rows, bool quick, string outFile)
    {
        string table = Render(rows, quick);
        Console.WriteLine(table);
        Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
        File.WriteAllText(outFile, table);
        Console.WriteLine($"written to {outFile}");
        return 0;
    }

    /// <summary>
    /// Issue 18's bar, through the local Functions host: the test app's ChainOrchestrator (one ChainStep activity per
    /// step) dispatched by the host to the isolated worker over gRPC, on the test app's host.json (2 partitions, max
    /// poll 1 s, extended sessions on), started and awaited through the host's DurableClient endpoint. Rates come from
    /// the history's timestamps (ExecutionStarted → ExecutionCompleted), not from the client's polling.
    /// </summary>
    private static async Task ThroughHostAsync(List<(string Metric, string Value, string Note)> rows, bool quick)
    {
        await using var azurite = await Mlops.Testing.AzuriteInstance.StartAsync();
        await using var host = await LocalHost.StartInProcessAsync(
            azurite.ConnectionString,
            "durablebench",
            LocalHost.TestAppDirectory
        );
        var (client, channel) = await LocalHost.DurableClientAsync(host);
        using (channel)
        await using (client)
        {
            await RunChainAsync(client, 3); // warm-up: JIT, partition leases, the worker's first invocations
            int chains = quick ? 2 : 5,
                steps = 50;
            List<double> episode = [],
                activity = [],
                back = [];
            double activities = 0,
                seconds = 0,
                observed = 0;
            for (int c = 0; c < chains; c++)
            {
                var sw = Stopwatch.StartNew();
                string id = await RunChainAsync(client, steps);
                observed += sw.Elapsed.TotalSeconds;
                var history = await client.GetOrchestrationHistoryAsync(id);
                var started = history.OfType<DurableTask.Core.History.ExecutionStartedEvent>().First().Timestamp;
                var completed = history.OfType<DurableTask.Core.History.ExecutionCompletedEvent>().First().Timestamp;
                seconds += (completed - started).TotalSeconds;
                activities += steps;
                var (e, a, b) = Mlops.Host.Durable.HopBreakdown.Measure(history);
                episode.AddRange(e);
                activity.AddRange(a);
                back.AddRange(b);
            }
            episode.Sort();
            activity.Sort();
            back.Sort();
            string load = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            rows.Add(
                (
                    "**Through the local host**: sequential chain, 50 activities (test app)",
                    $"{activities / seconds:F1} activities/s",
                    $"{chains} runs, ExecutionStarted → ExecutionCompleted; {activities / observed:F1}/s as the client saw it "
                        + $"(completion polling); target ≥ 20/s; load {load}"
                )
            );
            rows.Add(
                (
                    "  per hop, median ms: episode / activity / return",
                    $"{Pct(episode, 0.5):F1} / {Pct(activity, 0.5):F1} / {Pct(back, 0.5):F1}",
                    "episode = orchestrator invocation; activity = checkpoint + work-item queue + activity invocation; "
                        + "return = control queue + session"
                )
            );
            var latencies = new List<double>();
            for (int i = 0; i < (quick ? 5 : 15); i++)
            {
                var sw = Stopwatch.StartNew();
                await RunChainAsync(client, 1);
                latencies.Add(sw.Elapsed.TotalMilliseconds);
            }
            latencies.Sort();
            rows.Add(
                (
                    "  one-activity orchestration, start → completed (client)",
                    $"median {Pct(latencies, 0.5):F0} ms",
                    $"{latencies.Count} runs, includes the client's completion polling (50 ms doubling)"
                )
            );
        }
    }

    private static async Task<string> RunChainAsync(DurableTaskClient client, int steps)
    {
        string id = await client.ScheduleNewOrchestrationInstanceAsync(
            "ChainOrchestrator",
            new { Steps = steps, DelayMs = 0 }
        );
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var status = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: false, cts.Token);
        if (status.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            throw new InvalidOperationException(
                $"ChainOrchestrator ended {status.RuntimeStatus}: {status.FailureDetails?.ErrorMessage}"
            );
        return id;
    }

    private static async Task<OrchestrationMetadata> RunOneAsync(
        DurableTaskClient client,
        string name,
        int input,
        int timeoutSeconds
    )
    {
        string id = await client.ScheduleNewOrchestrationInstanceAsync(name, input);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        var status = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        if (status.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            throw new InvalidOperationException(
                $"{name} ended {status.RuntimeStatus}: {status.FailureDetails?.ErrorMessage}"
            );
        return status;
    }

    private static async Task<double> RawQueueCyclesAsync(string connectionString, int cycles)
    {
        var queue = new QueueClient(connectionString, "rawbench");
        await queue.CreateIfNotExistsAsync();
        for (int i = 0; i < 20; i++)
            await Cycle();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < cycles; i++)
            await Cycle();
        return cycles / sw.Elapsed.TotalSeconds;

        async Task Cycle()
        {
            await queue.SendMessageAsync("{\"x\":1}");
            var m = (await queue.ReceiveMessageAsync()).Value;
            await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
        }
    }

    /// <summary>Counts every storage request the engine sends (all three services).</summary>
    private sealed class CountingPolicy : HttpPipelineSynchronousPolicy
    {
        private long _count;
        public long Count => Interlocked.Read(ref _count);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _count);
    }

    private static double Pct(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static string Render(List<(string Metric, string Value, string Note)> rows, bool quick)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Durable engine benchmark (DTFx Azure Storage backend + durabletask-dotnet)");
        sb.AppendLine();
        sb.AppendLine(
            $"`dotnet run -c Release --project bench/Mlops.Bench -- durable{(quick ? " --quick" : "")}` on {Environment.ProcessorCount} cores, "
                + $"{DateTime.UtcNow:yyyy-MM-dd}, one worker process, the host's settings (4 partitions, max poll 1 s), private in-memory Azurite 3.35."
        );
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        sb.AppendLine($"Load average at the end of the run: {load}.");
        sb.AppendLine();
        sb.AppendLine("| metric | value | note |");
        sb.AppendLine("|---|---|---|");
        foreach (var (m, v, n) in rows)
            sb.AppendLine($"| {m} | {v} | {n} |");
        return sb.ToString();
    }

    internal static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MlopsFunctions.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
