using Microsoft.Extensions.Logging;
using Microsoft.WindowsAzure.Storage;
using Mlops.Durable.TestWorker;
using Xunit.Abstractions;

namespace Mlops.Durable.Tests;

/// <summary>Storage disappears for 20 s mid-run; Azurite persists to a temp folder so data survives the restart.</summary>
public sealed class StorageOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "mlops-durable-outage-" + Guid.NewGuid().ToString("N")[..8]);
    private AzuriteInstance azurite = null!;

    public async Task InitializeAsync() => azurite = await AzuriteInstance.StartAsync(folder);

    public async Task DisposeAsync()
    {
        await azurite.DisposeAsync();
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Orchestrations_complete_after_a_20_second_storage_outage()
    {
        string hub = DurableTestHost.NewHub();
        var effects = CloudStorageAccount.Parse(azurite.ConnectionString).CreateCloudTableClient().GetTableReference(hub + "Effects");
        await effects.CreateIfNotExistsAsync();
        var options = new DurableWorkerOptions
        {
            ConnectionString = azurite.ConnectionString, TaskHubName = hub, LeaseDuration = TimeSpan.FromSeconds(3),
            VisibilityTimeout = TimeSpan.FromSeconds(5), MaxPollingInterval = TimeSpan.FromMilliseconds(500),
        };
        using var logs = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(new XunitLoggerProvider(output)));
        await using var worker = new DurableWorker(options, TestFunctions.Register(new DurableRegistry(), effects, "inproc"), loggerFactory: logs);
        await worker.StartAsync();
        var client = worker.CreateClient();
        var instances = await Cluster.StartManyAsync(client, chains: 8, chainSteps: 15, fanOuts: 1, fanSteps: 30, delayMs: 80);
        await Cluster.WaitForEffectsAsync(azurite.ConnectionString, hub, atLeast: 25);
        int finishedBefore = await Cluster.CountFinishedAsync(client);

        await azurite.StopGracefullyAsync();
        output.WriteLine($"storage down with {finishedBefore}/{instances.Count} finished");
        await Task.Delay(TimeSpan.FromSeconds(20));
        await azurite.RestartAsync();
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} storage back");

        await Cluster.WaitAllFinishedAsync(client, instances.Count, TimeSpan.FromSeconds(90));
        Assert.True(finishedBefore < instances.Count);
        await Cluster.AssertExactlyOnceAsync(azurite.ConnectionString, hub, client, instances);
    }
}
