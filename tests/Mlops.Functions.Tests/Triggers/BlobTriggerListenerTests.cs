using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Core.Storage;
using Mlops.Functions.Triggers;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Functions.Tests.Triggers;

public sealed class BlobTriggerListenerTests
{
    private static StorageServices NewStorage() => new(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore());

    private static BlobTriggerListener Listener(StorageServices storage, Func<BlobTriggerEvent, CancellationToken, Task<string?>> handler, int maxAttempts = 5) =>
        new(storage, new BlobTriggerBinding("F", "incoming", n => n.EndsWith(".csv"), handler), "host", TimeSpan.FromMilliseconds(50), maxAttempts,
            NullLogger<BlobTriggerListener>.Instance, retryBackoff: _ => TimeSpan.Zero);

    [Theory]
    [InlineData("vm", 123)]        // 39 characters before the cut: this failed the host's start-up ("vm" is this machine's name)
    [InlineData("a", 1)]
    [InlineData("a-very-long-machine-name-from-a-cloud-provider", 4_194_304)]
    public void OwnerId_AnyMachineNameAndProcessId_FitsTheClaimColumnAndStaysUnique(string machine, int pid)
    {
        var a = BlobTriggerListener.OwnerId(machine, pid, Guid.NewGuid());
        var b = BlobTriggerListener.OwnerId(machine, pid, Guid.NewGuid());
        Assert.InRange(a.Length, 1, 40);
        Assert.StartsWith(machine.Length > 20 ? machine[..20] : $"{machine}-{pid}-", a);
        if (machine.Length + pid.ToString().Length + 2 < 24) Assert.NotEqual(a, b); // enough of the GUID survives the cut
    }

    [Fact]
    public async Task ScanOnce_TwoListenersSameBlobVersion_HandlerRunsOnce()
    {
        var storage = NewStorage();
        await storage.Blobs.WriteAsync("incoming", "ds/a.csv", "x,y\n1,2\n"u8.ToArray());
        int calls = 0;
        Func<BlobTriggerEvent, CancellationToken, Task<string?>> handler = async (_, _) => { Interlocked.Increment(ref calls); await Task.Delay(20); return "run"; };
        var a = Listener(storage, handler);
        var b = Listener(storage, handler);
        await Task.WhenAll(a.ScanOnceAsync(), b.ScanOnceAsync());
        await Task.WhenAll(a.ScanOnceAsync(), b.ScanOnceAsync());
        Assert.Equal(1, calls);
        var receipts = await new BlobReceipts(storage.Tables, "host", "F").ListAsync("incoming");
        Assert.Equal(BlobReceipt.Complete, Assert.Single(receipts).Status);
        Assert.Equal("run", receipts[0].InstanceId);
    }

    [Fact]
    public async Task ScanOnce_BlobOverwritten_NewVersionFiresAgain()
    {
        var storage = NewStorage();
        var seen = new List<string>();
        var listener = Listener(storage, (e, _) => { lock (seen) seen.Add(e.ETag); return Task.FromResult<string?>(null); });
        await storage.Blobs.WriteAsync("incoming", "ds/a.csv", "1"u8.ToArray());
        await listener.ScanOnceAsync();
        await storage.Blobs.WriteAsync("incoming", "ds/a.csv", "2"u8.ToArray());
        await listener.ScanOnceAsync();
        await listener.ScanOnceAsync();
        Assert.Equal(2, seen.Distinct().Count());
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task ScanOnce_HandlerAlwaysFails_ParkedAsPoisonAfterMaxAttemptsWithError()
    {
        var storage = NewStorage();
        await storage.Blobs.WriteAsync("incoming", "ds/bad.csv", "1"u8.ToArray());
        int calls = 0;
        var listener = Listener(storage, (_, _) => { calls++; throw new InvalidOperationException("storage hiccup"); }, maxAttempts: 3);
        for (int i = 0; i < 6; i++) await listener.ScanOnceAsync();
        Assert.Equal(3, calls);
        var receipt = Assert.Single(await new BlobReceipts(storage.Tables, "host", "F").ListAsync("incoming"));
        Assert.Equal(BlobReceipt.Poison, receipt.Status);
        Assert.Equal(3, receipt.Attempts);
        Assert.Contains("storage hiccup", receipt.Error);
        var poison = Assert.Single(await storage.Queues.DequeueAsync(BlobTriggerListener.PoisonQueue, 32, TimeSpan.FromSeconds(30)));
        Assert.Contains("ds/bad.csv", poison.Text);
        Assert.Contains("storage hiccup", poison.Text);
        Assert.NotNull(await storage.Blobs.ReadAsync("incoming", "ds/bad.csv")); // never deleted
    }

    [Fact]
    public async Task ScanOnce_UnsupportedBlob_RecordedAsIgnoredNotRetried()
    {
        var storage = NewStorage();
        await storage.Blobs.WriteAsync("incoming", "ds/a.csv", "1"u8.ToArray());
        int calls = 0;
        var listener = Listener(storage, (_, _) => { calls++; throw new UnsupportedBlobException("only .csv"); });
        await listener.ScanOnceAsync();
        await listener.ScanOnceAsync();
        Assert.Equal(1, calls);
        var receipt = Assert.Single(await new BlobReceipts(storage.Tables, "host", "F").ListAsync("incoming"));
        Assert.Equal(BlobReceipt.Ignored, receipt.Status);
        Assert.Equal("only .csv", receipt.Error);
    }

    [Fact]
    public async Task TryClaim_ClaimHeldByCrashedProcessExpires_OtherProcessTakesOver()
    {
        var storage = NewStorage();
        var receipts = new BlobReceipts(storage.Tables, "host", "F");
        var first = await receipts.TryClaimAsync("incoming", "ds/a.csv", "\"e1\"", "p1", TimeSpan.FromMilliseconds(100));
        Assert.NotNull(first);
        Assert.Null(await receipts.TryClaimAsync("incoming", "ds/a.csv", "\"e1\"", "p2", TimeSpan.FromSeconds(30)));
        await Task.Delay(150);
        Assert.NotNull(await receipts.TryClaimAsync("incoming", "ds/a.csv", "\"e1\"", "p2", TimeSpan.FromSeconds(30)));
    }
}
