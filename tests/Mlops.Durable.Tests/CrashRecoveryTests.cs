using Xunit.Abstractions;

namespace Mlops.Durable.Tests;

public sealed class CrashRecoveryTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Worker_process_killed_at_random_points_finishes_every_instance_with_one_effect_per_call()
    {
        string hub = DurableTestHost.NewHub();
        var client = new DurableClient(new DurableTaskHubOptions { ConnectionString = azurite.ConnectionString, TaskHubName = hub });
        int seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}");

        var worker = await WorkerProcess.StartAsync(azurite.ConnectionString, hub);
        var instances = await Cluster.StartManyAsync(client, chains: 16, chainSteps: 10, fanOuts: 3, fanSteps: 25, delayMs: 40);
        int killedWhileUnfinished = 0, effects = 0;
        for (int kill = 0; kill < 3; kill++)
        {
            // Let the (re)started worker get going, then kill it at a random point of its work.
            await Cluster.WaitForEffectsAsync(azurite.ConnectionString, hub, atLeast: effects + 10);
            await Task.Delay(random.Next(0, 400));
            int finished = await Cluster.CountFinishedAsync(client);
            effects = await Cluster.CountEffectsAsync(azurite.ConnectionString, hub);
            worker.Kill();   // SIGKILL mid-activity / mid-checkpoint, wherever it happens to be
            output.WriteLine($"kill {kill + 1}: {finished}/{instances.Count} finished, {effects} effects");
            if (finished < instances.Count) killedWhileUnfinished++;
            await worker.DisposeAsync();
            worker = await WorkerProcess.StartAsync(azurite.ConnectionString, hub);
        }
        await using (worker)
        {
            await Cluster.WaitAllFinishedAsync(client, instances.Count, TimeSpan.FromSeconds(90));
        }

        Assert.True(killedWhileUnfinished == 3, "the kills should land while work is in flight");
        await Cluster.AssertExactlyOnceAsync(azurite.ConnectionString, hub, client, instances);
        Assert.Empty(await client.QueryAsync(new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending] }));
    }
}
