using System.Text;
using Mlops.Core.Storage;
using Xunit;

namespace Mlops.Storage.Tests;

/// <summary>Blob promises of <see cref="IBlobStore"/> beyond the basic round trips.</summary>
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task Blob_OpenRead_StreamsContentOrNullWhenMissing()
    {
        string c = Unique("c");
        var data = new byte[300_000];
        new Random(7).NextBytes(data);
        await Storage.Blobs.WriteAsync(c, "big.bin", data);
        await using (var stream = await Storage.Blobs.OpenReadAsync(c, "big.bin"))
        {
            Assert.NotNull(stream);
            using var copy = new MemoryStream();
            await stream!.CopyToAsync(copy);
            Assert.Equal(data, copy.ToArray());
        }
        Assert.Null(await Storage.Blobs.OpenReadAsync(c, "missing.bin"));
        Assert.Null(await Storage.Blobs.OpenReadAsync(Unique("nocontainer"), "x"));
    }

    [Fact]
    public async Task Blob_LogRead_IsNotFailedByAnAppendWhileReading()
    {
        // More than one read buffer (the Azure stream reads 4 MB ranges), so the append lands between two range reads:
        // an ETag-pinned read fails there with 412, as a monitor run did while predictions were being logged.
        string c = Unique("c");
        byte[] line = Encoding.ASCII.GetBytes(new string('x', 1023) + "\n");
        var piece = Enumerable.Repeat(line, 1024).SelectMany(l => l).ToArray(); // 1 MB of whole lines
        for (int i = 0; i < 5; i++)
            await Storage.Blobs.AppendAsync(c, "log.jsonl", piece);

        await using var stream = await Storage.Blobs.OpenLogReadAsync(c, "log.jsonl");
        Assert.NotNull(stream);
        var head = new byte[100_000];
        await stream!.ReadExactlyAsync(head);
        await Storage.Blobs.AppendAsync(c, "log.jsonl", piece);
        using var rest = new MemoryStream();
        await stream.CopyToAsync(rest);

        byte[] read = [.. head, .. rest.ToArray()];
        byte[] stored = (await Storage.Blobs.ReadAsync(c, "log.jsonl"))!.Data;
        Assert.True(
            read.Length >= 5 * piece.Length,
            $"read {read.Length} bytes of the {5 * piece.Length} there were at open"
        );
        Assert.Equal(0, read.Length % line.Length); // ends where an append ended
        Assert.Equal(stored.AsSpan(0, read.Length).ToArray(), read);
        Assert.Null(await Storage.Blobs.OpenLogReadAsync(c, "missing.jsonl"));
    }

    [Fact]
    public async Task Blob_UploadFromStream_ReturnsETagOfStoredVersion()
    {
        string c = Unique("c");
        var source = new MemoryStream(Encoding.UTF8.GetBytes("skip|payload"));
        source.Position = 5; // uploads from the current position, as a caller that already read a header expects
        string etag = await Storage.Blobs.UploadAsync(c, "u.txt", source);
        var info = await Storage.Blobs.GetInfoAsync(c, "u.txt");
        Assert.Equal(etag, info!.ETag);
        Assert.Equal(7, info.Length);
        Assert.Equal("payload", Encoding.UTF8.GetString((await Storage.Blobs.ReadAsync(c, "u.txt"))!.Data));
        string second = await Storage.Blobs.UploadAsync(c, "u.txt", new MemoryStream("v2"u8.ToArray()));
        Assert.NotEqual(etag, second); // unconditional overwrite
    }

    [Fact]
    public async Task Blob_IfMatchOnMissingBlob_Conflicts()
    {
        string c = Unique("c");
        await Storage.Blobs.WriteAsync(c, "other", "x"u8.ToArray());
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Blobs.WriteAsync(c, "missing", "1"u8.ToArray(), WriteCondition.Match("\"0x1\""))
        );
        Assert.Null(await Storage.Blobs.GetInfoAsync(c, "missing"));
    }

    [Fact]
    public async Task Blob_ListMissingContainerOrEmptyPrefix_ListsAllInNameOrder()
    {
        Assert.Empty(await ToListAsync(Storage.Blobs.ListAsync(Unique("none"))));
        string c = Unique("c");
        foreach (string name in new[] { "b/2", "a", "b/10", "B" })
            await Storage.Blobs.WriteAsync(c, name, "x"u8.ToArray());
        var listed = await ToListAsync(Storage.Blobs.ListAsync(c));
        Assert.Equal(new[] { "B", "a", "b/10", "b/2" }, listed.Select(b => b.Name)); // ordinal order, flat (no folders)
        Assert.All(listed, b => Assert.Equal(c, b.Container));
        Assert.All(listed, b => Assert.Equal(1, b.Length));
    }

    [Fact]
    public async Task Blob_DeleteInMissingContainer_ReturnsFalse()
    {
        Assert.False(await Storage.Blobs.DeleteAsync(Unique("none"), "x"));
        Assert.Null(await Storage.Blobs.GetInfoAsync(Unique("none"), "x"));
    }

    [Fact]
    public async Task Blob_AppendIntoMissingContainer_CreatesBlob()
    {
        string c = Unique("c");
        await Storage.Blobs.AppendAsync(c, "audit.jsonl", "é\n"u8.ToArray());
        var info = await Storage.Blobs.GetInfoAsync(c, "audit.jsonl");
        Assert.Equal(3, info!.Length);
    }

    [Fact]
    public async Task Blob_LeaseOnMissingBlob_CreatesLockBlob_RenewWithOtherIdFails()
    {
        string c = Unique("c");
        string? lease = await Storage.Blobs.TryAcquireLeaseAsync(c, "locks/timer", TimeSpan.FromSeconds(15));
        Assert.NotNull(lease);
        Assert.NotNull(await Storage.Blobs.GetInfoAsync(c, "locks/timer"));
        Assert.False(await Storage.Blobs.RenewLeaseAsync(c, "locks/timer", Guid.NewGuid().ToString()));
        Assert.False(await Storage.Blobs.RenewLeaseAsync(c, "never-leased", Guid.NewGuid().ToString()));
        await Storage.Blobs.ReleaseLeaseAsync(c, "locks/timer", Guid.NewGuid().ToString()); // a stranger's release is ignored
        Assert.Null(await Storage.Blobs.TryAcquireLeaseAsync(c, "locks/timer", TimeSpan.FromSeconds(15)));
    }

    private static async Task<List<BlobInfo>> ToListAsync(IAsyncEnumerable<BlobInfo> items)
    {
        var list = new List<BlobInfo>();
        await foreach (var item in items)
            list.Add(item);
        return list;
    }
}
