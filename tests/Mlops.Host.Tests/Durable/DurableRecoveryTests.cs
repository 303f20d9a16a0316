using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Azure.Data.Tables;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Mlops.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Host.Tests.Durable;

/// <summary>
/// Processes die mid-run: the worker (the host restarts it) and a whole host with its worker (another host on the same
/// task hub takes its partitions over). Every instance finishes once, with every step's result recorded once, and the
/// interrupted work moves again within 30 s.
/// </summary>
[Collection(DurableHostCollection.Name)]
public sealed class DurableRecoveryTests(DurableHostFixture fixture, ITestOutputHelper output)
{
    private const int Steps = 8;
    private DurableTaskClient Client => fixture.Client;

    [Fact]
    public async Task WorkerKilledMidRun_EveryInstanceCompletesOnce_WorkResumesWithin30Seconds()
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (int i = 0; i < 4; i++)
            ids.Add(
                await Client.ScheduleNewOrchestrationInstanceAsync(
                    "ChainOrchestrator",
                    new ChainInput(Steps, 400),
                    new StartOrchestrationOptions($"wk-{run}-{i}")
                )
            );
        await WaitUntilAsync(async () => await ProgressAsync(ids) >= 4, TimeSpan.FromSeconds(90));

        int atKill = await ProgressAsync(ids);
        var sinceKill = Stopwatch.StartNew();
        await fixture.Host.KillWorkerAsync();
        Assert.True(atKill < ids.Count * Steps, "the kill should land mid-run");
        await WaitUntilAsync(async () => await ProgressAsync(ids) > atKill, TimeSpan.FromSeconds(60));
        double resumed = sinceKill.Elapsed.TotalSeconds;
        output.WriteLine($"worker killed at {atKill}/{ids.Count * Steps} steps; work moved again {resumed:F1} s later");

        await AssertEachCompletedOnceAsync(ids);
        Assert.True(resumed <= 30, $"work resumed only {resumed:F1} s after the worker was killed");
    }

    [Fact]
    public async Task HostKilledMidRun_OtherHostTakesItsPartitions_EveryInstanceCompletesOnceWithin30Seconds()
    {
        var log = new ConcurrentQueue<string>();
        using var other = StartHostProcess(fixture.Azurite.ConnectionString, log);
        try
        {
            // Wait until the other host owns a partition of the shared hub (the table partition manager balances them).
            var partitions = new TableClient(fixture.Azurite.ConnectionString, "HostTestHubPartitions");
            await WaitUntilAsync(
                async () => (await OwnersAsync(partitions)).Any(o => o.Contains($"-{other.Id}-")),
                TimeSpan.FromSeconds(120),
                () => string.Join('\n', log.TakeLast(30))
            );

            string run = Guid.NewGuid().ToString("N")[..8];
            var ids = new List<string>();
            for (int i = 0; i < 6; i++)
                ids.Add(
                    await Client.ScheduleNewOrchestrationInstanceAsync(
                        "ChainOrchestrator",
                        new ChainInput(Steps, 1000),
                        new StartOrchestrationOptions($"hk-{run}-{i}")
                    )
                );
            // Both hosts have made progress: each instance has moved at least one step.
            await WaitUntilAsync(
                async () => (await ProgressByInstanceAsync(ids)).Values.All(p => p >= 1),
                TimeSpan.FromSeconds(90)
            );

            var atKill = await ProgressByInstanceAsync(ids);
            other.Kill(entireProcessTree: true); // SIGKILL of the host and its worker: no lease release, no message abandon
            var sinceKill = Stopwatch.StartNew();
            await other.WaitForExitAsync();
            var stalled = atKill.Where(p => p.Value < Steps).Select(p => p.Key).ToList();
            Assert.NotEmpty(stalled); // the kill landed mid-run
            var resumedAfter = new Dictionary<string, double>();
            await WaitUntilAsync(
                async () =>
                {
                    foreach (var (id, progress) in await ProgressByInstanceAsync(stalled))
                        if (progress > atKill[id])
                            resumedAfter.TryAdd(id, sinceKill.Elapsed.TotalSeconds);
                    return resumedAfter.Count == stalled.Count;
                },
                TimeSpan.FromSeconds(90)
            );
            output.WriteLine(
                $"host killed with {atKill.Values.Sum()}/{ids.Count * Steps} steps done; stalled instances moved again after "
                    + string.Join(", ", resumedAfter.Values.Order().Select(s => $"{s:F1} s"))
            );

            // A killed host may have reported an activity's result and died before deleting its message: that activity
            // runs again on the other host (at least once, as in Durable Functions) and the orchestrator ignores its
            // second result. Every step is still scheduled once and counted once in the output.
            await AssertEachCompletedOnceAsync(ids, redeliveryAllowed: true);
            Assert.All(resumedAfter, r =>
                Assert.True(r.Value <= 30, $"{r.Key} resumed only {r.Value:F1} s after the host was killed")
            );
            Assert.DoesNotContain(await OwnersAsync(partitions), o => o.Contains($"-{other.Id}-"));
        }
        finally
        {
            if (!other.HasExited)
                other.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// Each instance completed with the sum of its steps and scheduled each step once; its history holds each step's
    /// result exactly once, or at least once when <paramref name="redeliveryAllowed"/> (a killed host's activity ran
    /// again).
    /// </summary>
    private async Task AssertEachCompletedOnceAsync(IEnumerable<string> ids, bool redeliveryAllowed = false)
    {
        foreach (string id in ids)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var done = await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal(Enumerable.Range(0, Steps).Sum(), done.ReadOutputAs<int>());
            var history = await Client.GetOrchestrationHistoryAsync(id);
            var completed = history.OfType<TaskCompletedEvent>().Select(e => e.TaskScheduledId).ToList();
            if (!redeliveryAllowed)
                Assert.Equal(Steps, completed.Count);
            else if (completed.Count > Steps)
                output.WriteLine(
                    $"{id}: {completed.Count - Steps} activity result(s) delivered twice, the second ignored"
                );
            Assert.Equal(Steps, completed.Distinct().Count());
            Assert.Equal(Steps, history.OfType<TaskScheduledEvent>().Count());
            Assert.Single(history.OfType<ExecutionCompletedEvent>());
        }
    }

    private async Task<int> ProgressAsync(IEnumerable<string> ids) => (await ProgressByInstanceAsync(ids)).Values.Sum();

    /// <summary>Steps done per instance, from the orchestrator's custom status (done = n).</summary>
    private async Task<Dictionary<string, int>> ProgressByInstanceAsync(IEnumerable<string> ids)
    {
        var progress = new Dictionary<string, int>();
        foreach (string id in ids)
        {
            var state = await Client.GetInstanceAsync(id, getInputsAndOutputs: true);
            // "null" until the first step sets it.
            using var status = JsonDocument.Parse(state?.SerializedCustomStatus is { Length: > 0 } s ? s : "null");
            progress[id] =
                status.RootElement.ValueKind == JsonValueKind.Object
                    ? status.RootElement.GetProperty("done").GetInt32()
                    : 0;
        }
        return progress;
    }

    private static async Task<List<string>> OwnersAsync(TableClient partitions)
    {
        var owners = new List<string>();
        try
        {
            await foreach (var row in partitions.QueryAsync<TableEntity>())
                if (row.GetString("CurrentOwner") is { } owner)
                    owners.Add(owner);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404) { }
        return owners;
    }

    /// <summary>A second host as its own OS process (so it can be SIGKILLed) on the same storage and host id.</summary>
    private static Process StartHostProcess(string storage, ConcurrentQueue<string> log)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                Path.Combine(AppContext.BaseDirectory, "Mlops.Host.dll"),
                "--app",
                TestHosts.AppDirectory,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["AzureWebJobsStorage"] = storage;
        psi.Environment["MLOPS_HTTP_PORT"] = AzuriteInstance.FreePort().ToString();
        psi.Environment["MLOPS_HOST_ID"] = "durable-tests";
        psi.Environment["TEST_SCHEDULE"] = "0 0 0 1 1 *";
        var process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start the second host.");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                log.Enqueue(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                log.Enqueue(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitUntilAsync(
        Func<Task<bool>> condition,
        TimeSpan timeout,
        Func<string>? describe = null
    )
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Condition not met within {timeout}. {describe?.Invoke()}");
            await Task.Delay(250);
        }
    }
}
