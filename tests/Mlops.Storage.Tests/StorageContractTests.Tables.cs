using Mlops.Core.Storage;
using Xunit;

namespace Mlops.Storage.Tests;

/// <summary>Table promises of <see cref="ITableStore"/> beyond inserts, replaces and one batch.</summary>
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task Table_MissingTable_GetsNullAndQueriesNothing()
    {
        string t = Unique("t");
        Assert.Null(await Storage.Tables.GetAsync(t, "p", "r"));
        Assert.Empty(await Storage.Tables.QueryAllAsync(t));
        Assert.Null(await Storage.Tables.DeleteAsync(t, new TableRow("p", "r")));
    }

    [Fact]
    public async Task Table_ValueTypes_RoundTrip()
    {
        string t = Unique("t");
        var id = new Guid("0f8fad5b-d9cb-469f-a165-70867728950e");
        var local = new DateTime(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc).ToLocalTime();
        await Storage.Tables.InsertAsync(
            t,
            new TableRow("p", "r")
            {
                ["int"] = 7,
                ["long"] = 1L << 40,
                ["bytes"] = new byte[] { 1, 2, 255 },
                ["guid"] = id,
                ["local"] = local,
                ["text"] = "a'b\"c",
                ["none"] = null,
            }
        );
        var row = (await Storage.Tables.GetAsync(t, "p", "r"))!;
        Assert.Equal(7L, row.GetLong("int"));
        Assert.Equal(1L << 40, row.GetLong("long"));
        Assert.Equal(new byte[] { 1, 2, 255 }, Assert.IsType<byte[]>(row["bytes"]));
        Assert.Equal(id, Assert.IsType<Guid>(row["guid"]));
        Assert.Equal(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero), row.GetDate("local"));
        Assert.Equal("a'b\"c", row.GetString("text"));
        Assert.False(row.Properties.ContainsKey("none")); // null values are not stored
        Assert.False(row.Properties.ContainsKey("PartitionKey")); // keys and system fields are not properties
        Assert.NotNull(row.Timestamp);
    }

    [Fact]
    public async Task Table_ExecuteETag_MatchesReadETag_AndUpsertReplacesAllProperties()
    {
        string t = Unique("t");
        string? inserted = await Storage.Tables.InsertAsync(t, new TableRow("p", "r") { ["a"] = "1", ["b"] = "2" });
        Assert.Equal(inserted, (await Storage.Tables.GetAsync(t, "p", "r"))!.ETag);
        string? upserted = await Storage.Tables.UpsertAsync(t, new TableRow("p", "r") { ["a"] = "3" });
        var row = (await Storage.Tables.GetAsync(t, "p", "r"))!;
        Assert.Equal(upserted, row.ETag);
        Assert.Equal("3", row.GetString("a"));
        Assert.Null(row["b"]);
    }

    [Fact]
    public async Task Table_Merge_KeepsOtherProperties_AndConflictsWhenRowMissing()
    {
        string t = Unique("t");
        string? etag = await Storage.Tables.InsertAsync(t, new TableRow("p", "r") { ["a"] = "1", ["b"] = "2" });
        await Storage.Tables.ExecuteAsync(
            t,
            new TableOperation(TableOperationKind.Merge, new TableRow("p", "r", etag: etag) { ["b"] = "3", ["c"] = 4L })
        );
        var row = (await Storage.Tables.GetAsync(t, "p", "r"))!;
        Assert.Equal(("1", "3", 4L), (row.GetString("a"), row.GetString("b"), row.GetLong("c")));
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Tables.ExecuteAsync(
                t,
                new TableOperation(TableOperationKind.Merge, new TableRow("p", "r", etag: etag) { ["b"] = "stale" })
            )
        );
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Tables.ExecuteAsync(
                t,
                new TableOperation(TableOperationKind.Merge, new TableRow("p", "missing") { ["b"] = "x" })
            )
        );
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Tables.ReplaceAsync(t, new TableRow("p", "missing"))
        );
    }

    [Fact]
    public async Task Table_Delete_UnconditionalMissingIsFine_ConditionalMissingOrStaleConflicts()
    {
        string t = Unique("t");
        string? etag = await Storage.Tables.InsertAsync(t, new TableRow("p", "r"));
        await Storage.Tables.UpsertAsync(t, new TableRow("p", "r") { ["v"] = 2L });
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Tables.DeleteAsync(t, new TableRow("p", "r", etag: etag))
        );
        Assert.NotNull(await Storage.Tables.GetAsync(t, "p", "r"));
        Assert.Null(await Storage.Tables.DeleteAsync(t, new TableRow("p", "r")));
        Assert.Null(await Storage.Tables.GetAsync(t, "p", "r"));
        Assert.Null(await Storage.Tables.DeleteAsync(t, new TableRow("p", "r")));
        await Assert.ThrowsAsync<StorageConflictException>(() =>
            Storage.Tables.DeleteAsync(t, new TableRow("p", "r", etag: etag))
        );
    }

    [Fact]
    public async Task Table_Query_RangeIsHalfOpen_KeysWithQuotesAreEscaped_OtherPartitionsExcluded()
    {
        string t = Unique("t");
        await Storage.Tables.ExecuteBatchAsync(
            t,
            new TableBatch()
                .Insert(new TableRow("o'p", "a"))
                .Insert(new TableRow("o'p", "b'1"))
                .Insert(new TableRow("o'p", "c"))
        );
        await Storage.Tables.InsertAsync(t, new TableRow("other", "b"));
        var rows = await Storage.Tables.QueryAsync(t, "o'p", "b", "c");
        Assert.Equal(new[] { "b'1" }, rows.Select(r => r.RowKey));
        Assert.Equal(new[] { "a", "b'1", "c" }, (await Storage.Tables.QueryAsync(t, "o'p")).Select(r => r.RowKey));
        Assert.Equal(
            new[] { "b'1", "c" },
            (await Storage.Tables.QueryAsync(t, "o'p", rowKeyFrom: "b")).Select(r => r.RowKey)
        );
        var all = await Storage.Tables.QueryAllAsync(t);
        Assert.Equal(
            new[] { "o'p/a", "o'p/b'1", "o'p/c", "other/b" },
            all.Select(r => r.PartitionKey + "/" + r.RowKey)
        );
    }

    [Fact]
    public async Task Table_Batch_MixedKindsApplyTogether_DeletesReturnNullETags()
    {
        string t = Unique("t");
        string? etag = await Storage.Tables.InsertAsync(t, new TableRow("p", "keep") { ["v"] = 1L });
        await Storage.Tables.InsertAsync(t, new TableRow("p", "gone"));
        var etags = await Storage.Tables.ExecuteBatchAsync(
            t,
            new TableBatch()
                .Replace(new TableRow("p", "keep", etag: etag) { ["v"] = 2L })
                .Upsert(new TableRow("p", "new"))
                .Delete(new TableRow("p", "gone"))
        );
        Assert.Equal(3, etags.Count);
        Assert.Equal((await Storage.Tables.GetAsync(t, "p", "keep"))!.ETag, etags[0]);
        Assert.NotNull(etags[1]);
        Assert.Null(etags[2]);
        Assert.Null(await Storage.Tables.GetAsync(t, "p", "gone"));
        Assert.Empty(await Storage.Tables.ExecuteBatchAsync(t, new TableBatch()));
    }

    [Fact]
    public async Task Table_BatchOfHundred_Applies_OverHundred_IsRejected()
    {
        string t = Unique("t");
        var full = new TableBatch();
        for (int i = 0; i < 100; i++)
            full.Insert(new TableRow("p", i.ToString("D3")));
        Assert.Equal(100, (await Storage.Tables.ExecuteBatchAsync(t, full)).Count);
        Assert.Equal(100, (await Storage.Tables.QueryAsync(t, "p")).Count);
        var tooMany = new TableBatch();
        for (int i = 0; i < 101; i++)
            tooMany.Upsert(new TableRow("q", i.ToString("D3")));
        await Assert.ThrowsAsync<ArgumentException>(() => Storage.Tables.ExecuteBatchAsync(t, tooMany));
        Assert.Empty(await Storage.Tables.QueryAsync(t, "q"));
    }

    [Fact]
    public async Task Table_BatchInsertOfExistingRow_ConflictsAndAppliesNothing()
    {
        string t = Unique("t");
        await Storage.Tables.InsertAsync(t, new TableRow("p", "dup"));
        var batch = new TableBatch().Insert(new TableRow("p", "fresh")).Insert(new TableRow("p", "dup"));
        await Assert.ThrowsAsync<StorageConflictException>(() => Storage.Tables.ExecuteBatchAsync(t, batch));
        Assert.Null(await Storage.Tables.GetAsync(t, "p", "fresh"));
    }
}
