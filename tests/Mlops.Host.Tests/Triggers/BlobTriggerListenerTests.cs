using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Mlops.Host.Triggers;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests.Triggers;

/// <summary>The blob trigger listener on a private Azurite, with a fake worker recording what it is sent.</summary>
public class BlobTriggerListenerTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static string NewId(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..20];

    private async Task<BlobContainerClient> ContainerAsync(string name)
    {
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(name);
        await container.CreateIfNotExistsAsync();
        return container;
    }

    private static Task UploadAsync(BlobContainerClient container, string name, string text) =>
        container.GetBlobClient(name).UploadAsync(BinaryData.FromString(text), overwrite: true);

    [Fact]
    public async Task DroppedBlob_MatchingPattern_ReachesTheFunctionOnceWithContainerAndName()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        var worker = new FakeWorker();
        worker.AddBlobTrigger("OnData", containerName + "/{dataset}/{name}.csv");
        await using var host = new TriggerHost(worker, azurite.ConnectionString, NewId("host"));
        await host.StartAsync();

        await UploadAsync(container, "iris/a.csv", "x,y\n1,2\n");
        await UploadAsync(container, "iris/ignored.txt", "not a csv");

        await Eventually.TrueAsync(() => worker.For("OnData").Count >= 1, Wait, "the csv blob delivered");
        await Task.Delay(1500); // several more scans: nothing else may arrive
        var request = Assert.Single(worker.For("OnData"));
        var binding = FakeWorker.BlobBindingData(request);
        Assert.Equal(containerName, binding.GetProperty("ContainerName").GetString());
        Assert.Equal("iris/a.csv", binding.GetProperty("BlobName").GetString());
        Assert.Equal($"{containerName}/iris/a.csv", request.TriggerMetadata["BlobTrigger"].String);
        Assert.Equal("iris", request.TriggerMetadata["dataset"].String);
        Assert.Equal("a", request.TriggerMetadata["name"].String);
        Assert.Equal(
            8,
            JsonDocument
                .Parse(request.TriggerMetadata["Properties"].Json)
                .RootElement.GetProperty("ContentLength")
                .GetInt64()
        );
    }

    [Fact]
    public async Task ExistingBlobsAtFirstStart_AreDelivered_AndAChangedBlobIsDeliveredAgain()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        await UploadAsync(container, "before-1.csv", "1");
        await UploadAsync(container, "before-2.csv", "2");
        var worker = new FakeWorker();
        worker.AddBlobTrigger("OnData", containerName + "/{name}");
        await using var host = new TriggerHost(worker, azurite.ConnectionString, NewId("host"));
        await host.StartAsync();

        await Eventually.TrueAsync(() => worker.For("OnData").Count >= 2, Wait, "both existing blobs delivered");
        await UploadAsync(container, "before-1.csv", "changed"); // a new version: a new ETag
        await Eventually.TrueAsync(() => worker.For("OnData").Count >= 3, Wait, "the changed blob delivered again");

        await Task.Delay(1000);
        var names = worker.For("OnData").Select(r => r.TriggerMetadata["name"].String).ToList();
        Assert.Equal(3, names.Count);
        Assert.Equal(2, names.Count(n => n == "before-1.csv"));
    }

    [Fact]
    public async Task FailingFunction_TriedFiveTimes_ThenPoisonMessageInTheHostsShape()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        var worker = new FakeWorker { Handler = (_, _) => "boom" };
        worker.AddBlobTrigger("Fails", containerName + "/{name}");
        var poison = new QueueClient(
            azurite.ConnectionString,
            BlobTriggerMessage.PoisonQueueName,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }
        );
        await poison.CreateIfNotExistsAsync();
        string hostId = NewId("host");
        await using var host = new TriggerHost(worker, azurite.ConnectionString, hostId);
        await host.StartAsync();

        await UploadAsync(container, "bad.csv", "1");
        var etag = (await container.GetBlobClient("bad.csv").GetPropertiesAsync()).Value.ETag.ToString();

        JsonElement? poisoned = null;
        await Eventually.TrueAsync(
            async () =>
            {
                foreach (var m in (await poison.PeekMessagesAsync(32)).Value)
                {
                    var json = JsonDocument.Parse(m.Body.ToString()).RootElement;
                    if (json.GetProperty("ContainerName").GetString() == containerName)
                    {
                        poisoned = json;
                        return true;
                    }
                }
                return false;
            },
            Wait,
            "a poison message for the blob"
        );

        await Task.Delay(1000); // no sixth try after the poison message
        Assert.Equal(5, worker.For("Fails").Count);
        var message = poisoned!.Value;
        Assert.Equal("BlobTrigger", message.GetProperty("Type").GetString());
        Assert.Equal("Host.Functions.Fails", message.GetProperty("FunctionId").GetString());
        Assert.Equal("BlockBlob", message.GetProperty("BlobType").GetString());
        Assert.Equal("bad.csv", message.GetProperty("BlobName").GetString());
        Assert.Equal(etag, message.GetProperty("ETag").GetString());
        var hostQueue = new QueueClient(azurite.ConnectionString, BlobTriggerMessage.HostQueueName(hostId));
        Assert.Equal(0, (await hostQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task PoisonBlobThreshold_FromHostJson_SetsTheNumberOfTries()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        var worker = new FakeWorker { Handler = (_, _) => "boom" };
        worker.AddBlobTrigger("Fails", containerName + "/{name}");
        await using var host = new TriggerHost(
            worker,
            azurite.ConnectionString,
            NewId("host"),
            hostJson: """{"version":"2.0","extensions":{"blobs":{"poisonBlobThreshold":2}}}"""
        );
        await host.StartAsync();

        await UploadAsync(container, "bad.csv", "1");

        await Eventually.TrueAsync(() => worker.For("Fails").Count >= 2, Wait, "two tries");
        await Task.Delay(1500);
        Assert.Equal(2, worker.For("Fails").Count);
    }

    [Fact]
    public async Task FunctionFailingOnce_IsRetriedAndSucceeds()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        int calls = 0;
        var worker = new FakeWorker { Handler = (_, _) => Interlocked.Increment(ref calls) == 1 ? "transient" : null };
        worker.AddBlobTrigger("Flaky", containerName + "/{name}");
        await using var host = new TriggerHost(worker, azurite.ConnectionString, NewId("host"));
        await host.StartAsync();

        await UploadAsync(container, "a.csv", "1");

        await Eventually.TrueAsync(() => worker.For("Flaky").Count >= 2, Wait, "a second try");
        await Task.Delay(1000);
        Assert.Equal(2, worker.For("Flaky").Count);
    }

    [Fact]
    public async Task TwoHostsOnOneAccount_DeliverEachBlobOnce()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        string hostId = NewId("host");
        var workerA = new FakeWorker();
        workerA.AddBlobTrigger("OnData", containerName + "/{name}");
        var workerB = new FakeWorker();
        workerB.AddBlobTrigger("OnData", containerName + "/{name}");
        await using var hostA = new TriggerHost(workerA, azurite.ConnectionString, hostId);
        await using var hostB = new TriggerHost(workerB, azurite.ConnectionString, hostId);
        await Task.WhenAll(hostA.StartAsync(), hostB.StartAsync());

        for (int i = 0; i < 20; i++)
            await UploadAsync(container, $"blob-{i:D2}.csv", i.ToString());

        await Eventually.TrueAsync(
            () => workerA.For("OnData").Count + workerB.For("OnData").Count >= 20,
            Wait,
            "20 deliveries"
        );
        await Task.Delay(1500);
        var delivered = workerA
            .For("OnData")
            .Concat(workerB.For("OnData"))
            .Select(r => r.TriggerMetadata["name"].String)
            .ToList();
        Assert.Equal(20, delivered.Count);
        Assert.Equal(20, delivered.Distinct().Count());
    }

    [Fact]
    public async Task Restart_DeliversNothingTwice()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        string hostId = NewId("host");
        var first = new FakeWorker();
        first.AddBlobTrigger("OnData", containerName + "/{name}");
        await UploadAsync(container, "a.csv", "1");
        await UploadAsync(container, "b.csv", "2");
        await using (var host = new TriggerHost(first, azurite.ConnectionString, hostId))
        {
            await host.StartAsync();
            await Eventually.TrueAsync(
                () => first.For("OnData").Count >= 2,
                Wait,
                "both blobs delivered before the restart"
            );
        }

        var second = new FakeWorker();
        second.AddBlobTrigger("OnData", containerName + "/{name}");
        await using var restarted = new TriggerHost(second, azurite.ConnectionString, hostId);
        await restarted.StartAsync();
        await UploadAsync(container, "c.csv", "3");

        await Eventually.TrueAsync(
            () => second.For("OnData").Count >= 1,
            Wait,
            "the new blob delivered after the restart"
        );
        await Task.Delay(1500);
        Assert.Equal(["c.csv"], second.For("OnData").Select(r => r.TriggerMetadata["name"].String));
        Assert.Equal(2, first.For("OnData").Count);
    }

    [Fact]
    public async Task DisabledFunction_IsNotTriggered_OtherFunctionsAre()
    {
        string containerName = NewId("in");
        var container = await ContainerAsync(containerName);
        var worker = new FakeWorker();
        worker.AddBlobTrigger("Off", containerName + "/{name}");
        worker.AddBlobTrigger("On", containerName + "/{name}");
        await using var host = new TriggerHost(
            worker,
            azurite.ConnectionString,
            NewId("host"),
            settings: new Dictionary<string, string> { ["AzureWebJobs.Off.Disabled"] = "true" }
        );
        await host.StartAsync();

        await UploadAsync(container, "a.csv", "1");

        await Eventually.TrueAsync(() => worker.For("On").Count >= 1, Wait, "the enabled function triggered");
        await Task.Delay(1000);
        Assert.Empty(worker.For("Off"));
        Assert.Equal(["On"], host.Blobs.Functions.Select(f => f.Function.Name));
    }

    [Fact]
    public async Task QueuedBlobDeletedBeforeItsTurn_IsSkippedWithoutError()
    {
        string containerName = NewId("in");
        await ContainerAsync(containerName);
        var worker = new FakeWorker();
        worker.AddBlobTrigger("OnData", containerName + "/{name}");
        string hostId = NewId("host");
        var hostQueue = new QueueClient(
            azurite.ConnectionString,
            BlobTriggerMessage.HostQueueName(hostId),
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 }
        );
        await hostQueue.CreateIfNotExistsAsync();
        await hostQueue.SendMessageAsync(
            new BlobTriggerMessage("Host.Functions.OnData", "BlockBlob", containerName, "gone.csv", "\"0x1\"").ToJson()
        );

        await using var host = new TriggerHost(worker, azurite.ConnectionString, hostId);
        await host.StartAsync();

        await Eventually.TrueAsync(
            async () => (await hostQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0,
            Wait,
            "the message settled"
        );
        Assert.Empty(worker.For("OnData"));
    }

    [Fact]
    public async Task InvalidQueueMessage_MovesToThePoisonQueueUntouched()
    {
        var worker = new FakeWorker();
        worker.AddBlobTrigger("OnData", NewId("in") + "/{name}");
        string hostId = NewId("host");
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        var hostQueue = new QueueClient(azurite.ConnectionString, BlobTriggerMessage.HostQueueName(hostId), options);
        await hostQueue.CreateIfNotExistsAsync();
        string text = "{\"Type\":\"BlobTrigger\",\"note\":\"" + hostId + "\"}";
        await hostQueue.SendMessageAsync(text);
        var poison = new QueueClient(azurite.ConnectionString, BlobTriggerMessage.PoisonQueueName, options);

        await using var host = new TriggerHost(worker, azurite.ConnectionString, hostId);
        await host.StartAsync();

        await Eventually.TrueAsync(
            async () =>
                await poison.ExistsAsync()
                && (await poison.PeekMessagesAsync(32)).Value.Any(m => m.Body.ToString() == text),
            Wait,
            "the message in the poison queue"
        );
        Assert.Equal(0, (await hostQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Empty(worker.Invocations);
    }
}
