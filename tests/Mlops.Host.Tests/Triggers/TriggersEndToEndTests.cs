using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Mlops.Host.Triggers;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests.Triggers;

/// <summary>
/// Blob and timer triggers through the real local host and the test app's isolated worker (tests/Mlops.Host.TestApp) on
/// a private Azurite. Each run of a function leaves a blob behind, which is what these tests count.
/// </summary>
public class TriggersEndToEndTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    private readonly ConcurrentQueue<string> _log = new();

    private BlobServiceClient Blobs => new(azurite.ConnectionString);

    private static string TestAppDirectory()
    {
        // The test app is built next to this test assembly's configuration (bin/{Debug|Release}/net10.0).
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar))
            .Parent!
            .Name;
        string dir = Path.Combine(
            AzuriteInstance.RepoRoot(),
            "tests",
            "Mlops.Host.TestApp",
            "bin",
            configuration,
            "net10.0"
        );
        return File.Exists(Path.Combine(dir, "functions.metadata"))
            ? dir
            : throw new InvalidOperationException($"The test app is not built at {dir}.");
    }

    private Task<LocalFunctionsHost> StartHostAsync(string hostId, Dictionary<string, string> settings)
    {
        var options = new LocalHostOptions
        {
            AppDirectory = TestAppDirectory(),
            StorageConnectionString = azurite.ConnectionString,
            HttpPort = 0,
            HostId = hostId,
            Log = _log.Enqueue,
        };
        // A quiet timer unless the test sets one: the test app's OnTimer needs TEST_SCHEDULE to resolve.
        options.WorkerEnvironment["TEST_SCHEDULE"] = "0 0 0 1 1 *";
        foreach (var (name, value) in settings)
            options.WorkerEnvironment[name] = value;
        return LocalFunctionsHost.StartAsync(options);
    }

    private static string NewHostId() => $"e2e{Guid.NewGuid():N}"[..20];

    private async Task<List<string>> RunsAsync(string kind, string name)
    {
        var runs = Blobs.GetBlobContainerClient("runs");
        var found = new List<string>();
        if (!await runs.ExistsAsync())
            return found;
        await foreach (
            var item in runs.GetBlobsAsync(
                Azure.Storage.Blobs.Models.BlobTraits.None,
                Azure.Storage.Blobs.Models.BlobStates.None,
                $"{kind}/{name}/",
                CancellationToken.None
            )
        )
            found.Add(item.Name);
        return found;
    }

    private async Task<List<(long Ticks, string Text)>> TicksSinceAsync(long fromTicks)
    {
        var ticks = Blobs.GetBlobContainerClient("ticks");
        var found = new List<(long, string)>();
        if (!await ticks.ExistsAsync())
            return found;
        await foreach (
            var item in ticks.GetBlobsAsync(
                Azure.Storage.Blobs.Models.BlobTraits.None,
                Azure.Storage.Blobs.Models.BlobStates.None,
                null,
                CancellationToken.None
            )
        )
        {
            long at = long.Parse(item.Name);
            if (at < fromTicks)
                continue;
            found.Add((at, (await ticks.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content.ToString()));
        }
        return found;
    }

    private async Task UploadAsync(string container, string name, string text)
    {
        var client = Blobs.GetBlobContainerClient(container);
        await client.CreateIfNotExistsAsync();
        await client.GetBlobClient(name).UploadAsync(BinaryData.FromString(text), overwrite: true);
    }

    [Fact]
    public async Task DroppedBlob_ReachesTheWorkersBlobClientWithNameFromMetadata()
    {
        await using var host = await StartHostAsync(NewHostId(), []);
        string name = $"{Guid.NewGuid():N}.txt";

        await UploadAsync("incoming", name, "hello");

        // OnIncomingBlob reads the length through the BlobClient it was bound to and writes processed/{name}.
        var processed = Blobs.GetBlobContainerClient("processed").GetBlobClient(name);
        await Eventually.TrueAsync(async () => await processed.ExistsAsync(), Wait, "processed/" + name);
        Assert.Equal("5", (await processed.DownloadContentAsync()).Value.Content.ToString());
    }

    [Fact]
    public async Task FailingFunction_TriedFiveTimes_ThenPoisonMessage()
    {
        await using var host = await StartHostAsync(NewHostId(), []);
        string name = $"{Guid.NewGuid():N}.txt";
        var poison = new QueueClient(
            azurite.ConnectionString,
            BlobTriggerMessage.PoisonQueueName,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }
        );

        await UploadAsync("failing", name, "x");

        await Eventually.TrueAsync(
            async () =>
                await poison.ExistsAsync()
                && (await poison.PeekMessagesAsync(32)).Value.Any(m => m.Body.ToString().Contains(name)),
            Wait,
            "the poison message"
        );
        await Task.Delay(2000);
        Assert.Equal(5, (await RunsAsync("failing", name)).Count);
        var message = (await poison.PeekMessagesAsync(32))
            .Value.Select(m => JsonDocument.Parse(m.Body.ToString()).RootElement)
            .Single(m => m.GetProperty("BlobName").GetString() == name);
        Assert.Equal("Host.Functions.OnFailingBlob", message.GetProperty("FunctionId").GetString());
        Assert.Equal("failing", message.GetProperty("ContainerName").GetString());
    }

    [Fact]
    public async Task TwoHostsOnOneAccount_DeliverEachBlobOnce_AndARestartDeliversNothingAgain()
    {
        string hostId = NewHostId();
        string prefix = Guid.NewGuid().ToString("N")[..8];
        var names = Enumerable.Range(0, 8).Select(i => $"{prefix}-{i}.txt").ToList();
        await using (var hostA = await StartHostAsync(hostId, []))
        await using (var hostB = await StartHostAsync(hostId, []))
        {
            foreach (string name in names)
                await UploadAsync("counted", name, name);
            await Eventually.TrueAsync(
                async () =>
                {
                    foreach (string name in names)
                        if ((await RunsAsync("counted", name)).Count == 0)
                            return false;
                    return true;
                },
                Wait,
                "every blob run once"
            );
            await Task.Delay(3000);
        }
        foreach (string name in names)
            Assert.Single(await RunsAsync("counted", name));

        await using var restarted = await StartHostAsync(hostId, []);
        await UploadAsync("counted", $"{prefix}-after.txt", "new");
        await Eventually.TrueAsync(
            async () => (await RunsAsync("counted", $"{prefix}-after.txt")).Count == 1,
            Wait,
            "the new blob run"
        );
        await Task.Delay(2000);
        foreach (string name in names)
            Assert.Single(await RunsAsync("counted", name));
    }

    [Fact]
    public async Task Timer_FiresOnItsSchedule_WithTheWorkersTimerInfo()
    {
        long from = DateTime.UtcNow.Ticks;
        await using (var host = await StartHostAsync(NewHostId(), new() { ["TEST_SCHEDULE"] = "*/1 * * * * *" }))
        {
            await Eventually.TrueAsync(async () => (await TicksSinceAsync(from)).Count >= 2, Wait, "two ticks");
        }
        Assert.All(await TicksSinceAsync(from), t => Assert.Equal("False", t.Text));
    }

    [Fact]
    public async Task DisabledSetting_KeepsTheTimerOff()
    {
        long from = DateTime.UtcNow.Ticks;
        await using (
            var host = await StartHostAsync(
                NewHostId(),
                new() { ["TEST_SCHEDULE"] = "*/1 * * * * *", ["AzureWebJobs.OnTimer.Disabled"] = "true" }
            )
        )
        {
            // The blob trigger still runs: proof the host is up while the timer stays off.
            string name = $"{Guid.NewGuid():N}.txt";
            await UploadAsync("incoming", name, "x");
            await Eventually.TrueAsync(
                async () => await Blobs.GetBlobContainerClient("processed").GetBlobClient(name).ExistsAsync(),
                Wait,
                "the blob trigger running"
            );
            await Task.Delay(2500);
        }
        Assert.Empty(await TicksSinceAsync(from));
    }

    [Fact]
    public async Task PastDue_StoredNextInThePast_FiresOnceWithIsPastDue()
    {
        string hostId = NewHostId();
        var schedule = TimerSchedule.Parse("0 0 * * * *");
        var last = schedule.GetNextOccurrence(DateTime.Now.AddHours(-3));
        await new ScheduleStatusStore(
            Blobs.GetBlobContainerClient(BlobTriggerListener.HostsContainer),
            hostId
        ).SetAsync("Host.Functions.OnTimer", new ScheduleStatus(last, schedule.GetNextOccurrence(last), last));
        long from = DateTime.UtcNow.Ticks;

        await using (var host = await StartHostAsync(hostId, new() { ["TEST_SCHEDULE"] = "0 0 * * * *" }))
        {
            await Eventually.TrueAsync(async () => (await TicksSinceAsync(from)).Count >= 1, Wait, "the catch-up tick");
            await Task.Delay(2000);
        }
        var tick = Assert.Single(await TicksSinceAsync(from));
        Assert.Equal("True", tick.Text);
    }
}
