using System.Text;
using Mlops.Core.Storage;
using Mlops.Storage.Azure;
using Mlops.Storage.InMemory;
using Mlops.Testing;
using Xunit;

namespace Mlops.Storage.Tests;

/// <summary>
/// One contract for the storage ports, run against real Azurite and against the in-memory doubles, so code tested on
/// the doubles behaves the same on Azure Storage.
/// </summary>
public abstract partial class StorageContractTests
{
    protected abstract StorageServices Storage { get; }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Blob_WriteThenRead_ReturnsBytesAndETag()
    {
        string c = Unique("c");
        string etag = await Storage.Blobs.WriteAsync(c, "a/b.txt", "hello"u8.ToArray());
        var read = await Storage.Blobs.ReadAsync(c, "a/b.txt");
        Assert.NotNull(read);
        Assert.Equal("hello", Encoding.UTF8.GetString(read!.Data));
        Assert.Equal(etag, read.ETag);
        Assert.Null(await Storage.Blobs.ReadAsync(c, "missing"));
    }

    [Fact]
    public async Task Blob_IfNotExists_SecondWriteConflicts()
    {
        string c = Unique("c");
        await Storage.Blobs.WriteAsync(c, "x", "1"u8.ToArray(), WriteCondition.NotExists);
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Blobs.WriteAsync(c, "x", "2"u8.ToArray(), WriteCondition.NotExists)
        );
        Assert.Equal("1", Encoding.UTF8.GetString((await Storage.Blobs.ReadAsync(c, "x"))!.Data));
    }

    [Fact]
    public async Task Blob_IfMatchStaleETag_Conflicts()
    {
        string c = Unique("c");
        string first = await Storage.Blobs.WriteAsync(c, "x", "1"u8.ToArray());
        string second = await Storage.Blobs.WriteAsync(c, "x", "2"u8.ToArray(), WriteCondition.Match(first));
        Assert.NotEqual(first, second);
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Blobs.WriteAsync(c, "x", "3"u8.ToArray(), WriteCondition.Match(first))
        );
    }

    [Fact]
    public async Task Blob_AppendAndList_WorkInNameOrder()
    {
        string c = Unique("c");
        await Storage.Blobs.AppendAsync(c, "log/1.jsonl", "a\n"u8.ToArray());
        await Storage.Blobs.AppendAsync(c, "log/1.jsonl", "b\n"u8.ToArray());
        await Storage.Blobs.WriteAsync(c, "log/0.txt", "z"u8.ToArray());
        await Storage.Blobs.WriteAsync(c, "other.txt", "z"u8.ToArray());
        Assert.Equal("a\nb\n", Encoding.UTF8.GetString((await Storage.Blobs.ReadAsync(c, "log/1.jsonl"))!.Data));
        var names = new List<string>();
        await foreach (var b in Storage.Blobs.ListAsync(c, "log/"))
            names.Add(b.Name);
        Assert.Equal(new[] { "log/0.txt", "log/1.jsonl" }, names);
        Assert.True(await Storage.Blobs.DeleteAsync(c, "log/0.txt"));
        Assert.False(await Storage.Blobs.DeleteAsync(c, "log/0.txt"));
        Assert.Null(await Storage.Blobs.GetInfoAsync(c, "log/0.txt"));
    }

    [Fact]
    public async Task Blob_Lease_IsExclusiveUntilReleased()
    {
        string c = Unique("c");
        string? first = await Storage.Blobs.TryAcquireLeaseAsync(c, "lock", TimeSpan.FromSeconds(15));
        Assert.NotNull(first);
        Assert.Null(await Storage.Blobs.TryAcquireLeaseAsync(c, "lock", TimeSpan.FromSeconds(15)));
        Assert.True(await Storage.Blobs.RenewLeaseAsync(c, "lock", first!));
        await Storage.Blobs.ReleaseLeaseAsync(c, "lock", first!);
        Assert.NotNull(await Storage.Blobs.TryAcquireLeaseAsync(c, "lock", TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task Queue_DequeueHidesMessage_DeleteRemovesIt_AbandonRedelivers()
    {
        string q = Unique("q");
        await Storage.Queues.EnqueueAsync(q, "one");
        await Storage.Queues.EnqueueAsync(q, "later", TimeSpan.FromSeconds(30));
        var got = await Storage.Queues.DequeueAsync(q, 32, TimeSpan.FromSeconds(30));
        Assert.Equal("one", Assert.Single(got).Text);
        Assert.Equal(1, got[0].DequeueCount);
        Assert.Empty(await Storage.Queues.DequeueAsync(q, 32, TimeSpan.FromSeconds(30)));
        var abandoned = await Storage.Queues.AbandonAsync(q, got[0], TimeSpan.Zero);
        Assert.NotNull(abandoned);
        var again = await Storage.Queues.DequeueAsync(q, 32, TimeSpan.FromSeconds(30));
        Assert.Equal(2, Assert.Single(again).DequeueCount);
        Assert.True(await Storage.Queues.DeleteAsync(q, again[0]));
        Assert.False(await Storage.Queues.DeleteAsync(q, again[0]));
        Assert.Equal(1, await Storage.Queues.CountAsync(q));
    }

    [Fact]
    public async Task Table_InsertConflicts_ReplaceNeedsCurrentETag()
    {
        string t = Unique("t");
        var row = new TableRow("p", "r")
        {
            ["n"] = 1L,
            ["s"] = "x",
            ["when"] = DateTimeOffset.Parse("2026-01-02T03:04:05Z"),
            ["ok"] = true,
            ["d"] = 1.5,
        };
        string? etag = await Storage.Tables.InsertAsync(t, row);
        await Assert.ThrowsAsync<StorageConflictException>(() => Storage.Tables.InsertAsync(t, new TableRow("p", "r")));
        var read = await Storage.Tables.GetAsync(t, "p", "r");
        Assert.Equal(1L, read!.GetLong("n"));
        Assert.Equal("x", read.GetString("s"));
        Assert.Equal(DateTimeOffset.Parse("2026-01-02T03:04:05Z"), read.GetDate("when"));
        Assert.True(read.GetBool("ok"));
        Assert.Equal(1.5, read.GetDouble("d"));
        read["n"] = 2L;
        string? etag2 = await Storage.Tables.ReplaceAsync(t, read);
        Assert.NotEqual(etag, etag2);
        var stale = new TableRow("p", "r", etag: etag) { ["n"] = 3L };
        await Assert.ThrowsAsync<StorageConflictException>(() => Storage.Tables.ReplaceAsync(t, stale));
        Assert.Equal(2L, (await Storage.Tables.GetAsync(t, "p", "r"))!.GetLong("n"));
    }

    [Fact]
    public async Task Table_BatchWithStaleETag_AppliesNothing()
    {
        string t = Unique("t");
        string? etag = await Storage.Tables.InsertAsync(t, new TableRow("p", "sentinel") { ["v"] = 1L });
        await Storage.Tables.UpsertAsync(t, new TableRow("p", "sentinel") { ["v"] = 2L });
        var batch = new TableBatch()
            .Insert(new TableRow("p", "h001") { ["e"] = "x" })
            .Replace(new TableRow("p", "sentinel", etag: etag) { ["v"] = 3L });
        await Assert.ThrowsAsync<StorageConflictException>(() => Storage.Tables.ExecuteBatchAsync(t, batch));
        Assert.Null(await Storage.Tables.GetAsync(t, "p", "h001"));
        var ok = await Storage.Tables.ExecuteBatchAsync(
            t,
            new TableBatch().Insert(new TableRow("p", "h001")).Insert(new TableRow("p", "h002"))
        );
        Assert.Equal(2, ok.Count);
        var rows = await Storage.Tables.QueryAsync(t, "p", "h", "i");
        Assert.Equal(new[] { "h001", "h002" }, rows.Select(r => r.RowKey));
        Assert.Equal(3, (await Storage.Tables.QueryAllAsync(t)).Count);
        Assert.Empty(await Storage.Tables.QueryAsync(Unique("none"), "p"));
    }
}

public sealed class InMemoryStorageContractTests : StorageContractTests
{
    protected override StorageServices Storage { get; } =
        new(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore());
}

public sealed class AzuriteStorageContractTests(AzuriteFixture azurite)
    : StorageContractTests,
        IClassFixture<AzuriteFixture>
{
    protected override StorageServices Storage { get; } = AzureStorageAccount.Connect(azurite.ConnectionString);
}

public sealed class AzureBlobStoreLargeUploadTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Upload_MultiBlockIntoMissingContainer_CreatesContainer()
    {
        var blobs = AzureStorageAccount.Connect(azurite.ConnectionString).Blobs;
        var data = new byte[70 * 1024 * 1024]; // above the SDK's single-put threshold, so it goes in blocks
        new Random(1).NextBytes(data);
        string container = "big" + Guid.NewGuid().ToString("N")[..8];
        await blobs.UploadAsync(container, "x.bin", new MemoryStream(data));
        Assert.Equal(data.Length, (await blobs.GetInfoAsync(container, "x.bin"))!.Length);
    }
}
