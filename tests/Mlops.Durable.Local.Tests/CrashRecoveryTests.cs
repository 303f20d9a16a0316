using System.Diagnostics;
using Azure.Storage.Blobs;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Durable.Local.TestWorker;
using Mlops.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Durable.Local.Tests;

/// <summary>
/// A worker process is SIGKILLed mid-run (storage stays up, as in Azure) and a new one started: every instance
/// finishes, every step's effect exists exactly once, and the work resumes within the 30 s visibility timeout.
/// </summary>
public sealed class CrashRecoveryTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task WorkerKilledMidRun_NewWorkerFinishesEveryInstance_EachStepOnce_Within30Seconds()
    {
        const string hub = "crashtests";
        const int instances = 6,
            steps = 8;
        var client = new LocalDurableClient(
            new LocalTaskHub(
                TaskHubStorage.FromConnectionString(azurite.ConnectionString),
                new LocalDurableOptions { TaskHubName = hub },
                NullLoggerFactory.Instance
            ),
            Microsoft.DurableTask.Converters.JsonDataConverter.Default
        );
        var worker = WorkerProcess.Start(azurite.ConnectionString, hub);
        try
        {
            var ids = new List<string>();
            for (int i = 0; i < instances; i++)
                ids.Add(
                    await client.ScheduleNewOrchestrationInstanceAsync(
                        "Chain",
                        new ChainInput(steps, DelayMs: 150),
                        new Microsoft.DurableTask.StartOrchestrationOptions($"crash-{i}")
                    )
                );

            // Kill once some (but not all) effects exist: activities and checkpoints are in flight.
            var effects = new BlobContainerClient(azurite.ConnectionString, TestTasks.EffectsContainer);
            await WaitUntilAsync(async () => await CountAsync(effects) >= instances * 2, TimeSpan.FromSeconds(90));
            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync();
            int atKill = await CountAsync(effects);
            output.WriteLine($"killed with {atKill}/{instances * steps} effects");
            Assert.True(atKill < instances * steps, "the kill should land mid-run");

            var restarted = Stopwatch.StartNew();
            worker = WorkerProcess.Start(azurite.ConnectionString, hub);
            await WaitUntilAsync(async () => await CountAsync(effects) > atKill, TimeSpan.FromSeconds(60));
            double resumedAfter = restarted.Elapsed.TotalSeconds;
            output.WriteLine($"work resumed {resumedAfter:F1} s after the restart");
            Assert.True(resumedAfter <= 30, $"work resumed only after {resumedAfter:F1} s");

            foreach (string id in ids)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
                var done = await client.WaitForInstanceCompletionAsync(id, true, cts.Token);
                Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
                Assert.Equal(Enumerable.Range(0, steps).Sum(), done.ReadOutputAs<int>());
            }
            Assert.Equal(instances * steps, await CountAsync(effects)); // one effect per (instance, step): none lost, none doubled
        }
        finally
        {
            if (!worker.HasExited)
                worker.Kill(entireProcessTree: true);
        }
    }

    private static async Task<int> CountAsync(BlobContainerClient container)
    {
        if (!await container.ExistsAsync())
            return 0;
        int n = 0;
        await foreach (var _ in container.GetBlobsAsync())
            n++;
        return n;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Condition not met within {timeout}.");
            await Task.Delay(100);
        }
    }
}

/// <summary>Starts the test worker as its own OS process so it can be SIGKILLed.</summary>
internal static class WorkerProcess
{
    public static Process Start(string connectionString, string hub)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Mlops.Durable.Local.TestWorker.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, connectionString, hub },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}
