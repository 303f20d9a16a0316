using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Table;
using Xunit.Abstractions;

namespace Mlops.Durable.Tests;

public sealed class ScaleOutTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Two_worker_processes_share_the_work_and_the_survivor_finishes_after_one_is_killed()
    {
        string hub = DurableTestHost.NewHub();
        var client = new DurableClient(new DurableTaskHubOptions { ConnectionString = azurite.ConnectionString, TaskHubName = hub });
        await using var a = await WorkerProcess.StartAsync(azurite.ConnectionString, hub);
        await using var b = await WorkerProcess.StartAsync(azurite.ConnectionString, hub);

        // Both must hold partitions before the load starts (lease rebalancing: 4 partitions → 2 + 2).
        await OrchestrationTests.WaitForAsync(async () => (await OwnersAsync(hub)).Count == 2, 20);
        var instances = await Cluster.StartManyAsync(client, chains: 24, chainSteps: 8, fanOuts: 2, fanSteps: 20, delayMs: 30);
        await Cluster.WaitForEffectsAsync(azurite.ConnectionString, hub, atLeast: 60);
        int finishedAtKill = await Cluster.CountFinishedAsync(client);
        a.Kill();
        output.WriteLine($"killed {a.WorkerId} with {finishedAtKill}/{instances.Count} finished");

        await Cluster.WaitAllFinishedAsync(client, instances.Count, TimeSpan.FromSeconds(60));

        Assert.True(finishedAtKill < instances.Count);
        var perWorker = await Cluster.AssertExactlyOnceAsync(azurite.ConnectionString, hub, client, instances);
        output.WriteLine(string.Join(", ", perWorker.Select(kv => $"{kv.Key}: {kv.Value} effects")));
        Assert.True(perWorker.GetValueOrDefault(a.WorkerId) > 0, "the killed worker did part of the work");
        Assert.True(perWorker.GetValueOrDefault(b.WorkerId) > 0, "the surviving worker did part of the work");
        Assert.Equal([b.WorkerId], (await OwnersAsync(hub)).Distinct());   // the survivor took over every partition
    }

    private async Task<List<string>> OwnersAsync(string hub)
    {
        var table = CloudStorageAccount.Parse(azurite.ConnectionString).CreateCloudTableClient().GetTableReference(hub + "Leases");
        if (!await table.ExistsAsync()) return [];
        var rows = await table.ExecuteQuerySegmentedAsync(new TableQuery<DynamicTableEntity>().Where("PartitionKey eq 'lease'"), null);
        return rows.Results.Where(r => r.RowKey.StartsWith('p') && r.Properties.TryGetValue("Owner", out var o) && !string.IsNullOrEmpty(o.StringValue)
                                       && r.Properties["Expires"].DateTime > DateTime.UtcNow)
            .Select(r => r.Properties["Owner"].StringValue).Distinct().ToList();
    }
}
