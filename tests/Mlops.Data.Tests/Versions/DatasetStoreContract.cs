using System.Text;
using Mlops.Core.Errors;
using Mlops.Core.Naming;
using Mlops.Core.Storage;
using Mlops.Data.Validation;
using Mlops.Data.Versions;
using Xunit;

namespace Mlops.Data.Tests.Versions;

/// <summary>
/// Dataset-store behaviour, run against the in-memory doubles and against real Azurite (subclasses), so the store is
/// known to work on the same adapters the function app uses.
/// </summary>
public abstract class DatasetStoreContract
{
    protected abstract IBlobStore Blobs { get; }
    protected abstract ITableStore Tables { get; }

    private static readonly IngestOptions WithLabel = new("target");

    private DatasetStore Store(DatasetStoreOptions? o = null) => new(Blobs, Tables, options: o);

    private static string NewDataset() => "ds-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Ingest_GoodVersion_StoredContentAddressedWithProfileAndSchema()
    {
        var store = Store();
        string ds = NewDataset();
        var bytes = TestData.Csv(500, seed: 1);

        var r = await store.IngestAsync(ds, bytes, "incoming/a.csv", WithLabel);

        Assert.True(r.IsNew);
        Assert.True(r.CanTrain);
        Assert.Equal(DatasetStore.ComputeHash(bytes), r.Hash);
        Assert.Equal(1, r.Version.Sequence);
        Assert.Equal(500, r.Version.Rows);
        Assert.Equal(bytes, (await Blobs.ReadAsync("datasets", $"{ds}/{r.Hash}/data.csv"))!.Data);
        Assert.NotNull(await Blobs.ReadAsync("datasets", $"{ds}/{r.Hash}/profile.json"));
        var schema = await store.GetSchemaAsync(ds);
        Assert.Equal("target", schema!.Label);
        Assert.Equal(["blue", "green", "red"], schema.Find("color")!.Categories);
    }

    [Fact]
    public async Task Ingest_IdenticalBytes_IsNewFalseAndNoNewVersion()
    {
        var store = Store();
        string ds = NewDataset();
        var bytes = TestData.Csv(300, seed: 1);
        var first = await store.IngestAsync(ds, bytes, "a.csv", WithLabel);

        var again = await store.IngestAsync(ds, new MemoryStream(bytes), "copy-of-a.csv", WithLabel);

        Assert.False(again.IsNew);
        Assert.Equal(first.Hash, again.Hash);
        Assert.Equal(first.Version.Sequence, again.Version.Sequence);
        Assert.Single(await store.ListVersionsAsync(ds));
    }

    [Fact]
    public async Task Ingest_LabelBalanceShift_QuarantinedWithAlertAndNothingDeleted()
    {
        var store = Store();
        string ds = NewDataset();
        var good = await store.IngestAsync(ds, TestData.Csv(2000, seed: 1, positiveShare: 0.5), "good.csv", WithLabel);

        var shifted = await store.IngestAsync(
            ds,
            TestData.Csv(2000, seed: 2, positiveShare: 0.7),
            "shifted.csv",
            WithLabel
        );

        Assert.Equal(ValidationOutcome.Quarantined, shifted.Outcome);
        Assert.False(shifted.CanTrain);
        Assert.Contains(shifted.Report.Anomalies, a =>
            a.Code == AnomalyCodes.LabelShift && a.Severity == Severity.Error
        );
        Assert.Equal(good.Hash, shifted.Report.ReferenceHash);
        Assert.NotNull(await Blobs.ReadAsync("quarantine", $"{ds}/{shifted.Hash}/data.csv"));
        Assert.NotNull(await Blobs.ReadAsync("quarantine", $"{ds}/{shifted.Hash}/validation.json"));
        Assert.NotNull(await Blobs.ReadAsync("datasets", $"{ds}/{shifted.Hash}/data.csv")); // copied, not moved
        // What the pipeline's alert carries (it sends it durably; the store itself sends nothing).
        Assert.Contains("label_shift", shifted.Report.ToSummary());
        // The pipeline keeps training on the last good version.
        Assert.Equal(good.Hash, (await store.GetTrainingSetAsync(ds)).Id);
        Assert.Equal(4, shifted.Report.Drift.Count);
    }

    [Fact]
    public async Task Ingest_DroppedColumn_QuarantinedColumnMissing()
    {
        var store = Store();
        string ds = NewDataset();
        await store.IngestAsync(ds, TestData.Csv(300, seed: 1), "good.csv", WithLabel);

        var r = await store.IngestAsync(ds, TestData.Csv(300, seed: 2, withColor: false), "nocolor.csv", WithLabel);

        Assert.Equal(ValidationOutcome.Quarantined, r.Outcome);
        Assert.Contains(r.Report.Anomalies, a => a.Code == AnomalyCodes.ColumnMissing && a.Column == "color");
    }

    public static TheoryData<string, byte[], long?> MalformedFiles =>
        new()
        {
            { "empty", [], null },
            { "binary", [0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x0A], 1 },
            {
                "bad-utf8",
                Encoding.UTF8.GetBytes("a,b\n1,2\n3,").Concat(new byte[] { 0xC3, 0x28, (byte)'\n' }).ToArray(),
                3
            },
            { "ragged", Encoding.UTF8.GetBytes("a,b,target\n1,2,0\n3,4\n5,6,1\n"), 3 },
            { "header-only", Encoding.UTF8.GetBytes("a,b,target\n"), null },
            { "huge-line", Encoding.UTF8.GetBytes("a,b\n1,2\n" + new string('9', 5000) + ",1\n"), 3 },
        };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public async Task Ingest_MalformedFile_QuarantinedWithLineAndCallerKeepsRunning(
        string kind,
        byte[] bytes,
        long? line
    )
    {
        var store = Store(new DatasetStoreOptions { MaxLineBytes = 2048 });
        string ds = NewDataset();

        var r = await store.IngestAsync(ds, bytes, kind + ".csv", WithLabel);

        Assert.Equal(ValidationOutcome.Quarantined, r.Outcome);
        var a = Assert.Single(r.Report.Anomalies);
        Assert.Equal(AnomalyCodes.Malformed, a.Code);
        if (line is not null)
        {
            Assert.Equal(line, a.Line);
            Assert.Contains($"Line {line}", a.Message);
        }
        Assert.NotNull(await Blobs.ReadAsync("quarantine", $"{ds}/{r.Hash}/validation.json"));
        Assert.Null(await store.GetSchemaAsync(ds)); // a bad first file never defines the schema
    }

    [Fact]
    public async Task GetTrainingSet_AppendSinceVersion_UnionOfUsableVersions()
    {
        var store = Store();
        string ds = NewDataset();
        var v1 = await store.IngestAsync(ds, TestData.Csv(100, seed: 1), "1.csv", WithLabel);
        var v2 = await store.IngestAsync(ds, TestData.Csv(100, seed: 2), "2.csv", WithLabel);
        var bad = await store.IngestAsync(ds, TestData.Csv(100, seed: 3, withColor: false), "bad.csv", WithLabel);
        var v3 = await store.IngestAsync(ds, TestData.Csv(120, seed: 4), "3.csv", WithLabel);
        Assert.False(bad.CanTrain);

        var all = await store.GetTrainingSetAsync(ds, new TrainingSetRequest(TrainingSetMode.Append));
        var since2 = await store.GetTrainingSetAsync(
            ds,
            new TrainingSetRequest(TrainingSetMode.Append, SinceHash: v2.Hash)
        );
        var replace = await store.GetTrainingSetAsync(ds);

        Assert.Equal(320, all.Table.RowCount);
        Assert.Equal([v1.Hash, v2.Hash, v3.Hash], all.Manifest.Hashes);
        Assert.Equal(220, since2.Table.RowCount);
        Assert.Equal(v3.Hash, replace.Id);
        Assert.Equal(120, replace.Table.RowCount);
        var manifest = await store.GetTrainingSetManifestAsync(ds, all.Id);
        Assert.Equal(all.Manifest.Hashes, manifest!.Hashes); // recoverable from the id recorded in lineage
    }

    [Fact]
    public async Task SaveSchema_UserRelaxesCategories_NextIngestUsesEdit()
    {
        var store = Store();
        string ds = NewDataset();
        await store.IngestAsync(ds, TestData.Csv(300, seed: 1), "good.csv", WithLabel);
        string purple = Encoding.UTF8.GetString(TestData.Csv(300, seed: 2)).Replace(",red,", ",purple,");

        var strict = await store.IngestAsync(ds, Encoding.UTF8.GetBytes(purple), "purple.csv", WithLabel);
        Assert.Contains(strict.Report.Anomalies, a =>
            a.Code == AnomalyCodes.UnseenCategories && a.Severity == Severity.Error
        );

        var schema = (await store.GetSchemaAsync(ds))!;
        await store.SaveSchemaAsync(
            ds,
            schema with
            {
                Columns = schema
                    .Columns.Select(c => c.Name == "color" ? c with { Categories = [.. c.Categories!, "purple"] } : c)
                    .ToList(),
            }
        );
        var relaxed = await store.IngestAsync(ds, Encoding.UTF8.GetBytes(purple + "\n"), "purple2.csv", WithLabel);

        Assert.DoesNotContain(relaxed.Report.Anomalies, a => a.Code == AnomalyCodes.UnseenCategories);
        Assert.Contains("purple", (await store.GetSchemaAsync(ds))!.Find("color")!.Categories!);
    }

    [Fact]
    public async Task ListAndDetails_NewestFirstWithProfileAndReport()
    {
        var store = Store();
        string ds = NewDataset();
        var a = await store.IngestAsync(ds, TestData.Csv(100, seed: 1), "a.csv", WithLabel);
        var b = await store.IngestAsync(ds, TestData.Csv(100, seed: 2), "b.csv", WithLabel);

        var list = await store.ListVersionsAsync(ds);
        var details = await store.GetVersionDetailsAsync(ds, b.Hash);

        Assert.Equal([b.Hash, a.Hash], list.Select(v => v.Hash));
        Assert.Equal("b.csv", list[0].SourceName);
        Assert.Equal(100, details!.Profile!.RowCount);
        Assert.Equal(a.Hash, details.Validation!.ReferenceHash);
        Assert.Null(await store.GetVersionDetailsAsync(ds, new string('0', 64)));
    }

    [Fact]
    public async Task Ingest_ConcurrentSameAndDifferentFiles_OneVersionPerHashDistinctSequences()
    {
        string ds = NewDataset();
        var seed = Store();
        await seed.IngestAsync(ds, TestData.Csv(200, seed: 1), "first.csv", WithLabel);
        var same = TestData.Csv(200, seed: 2);
        var other = TestData.Csv(200, seed: 3);

        // Separate store instances: as two function hosts would be.
        var results = await Task.WhenAll(
            Store().IngestAsync(ds, same, "a.csv", WithLabel),
            Store().IngestAsync(ds, same, "b.csv", WithLabel),
            Store().IngestAsync(ds, other, "c.csv", WithLabel)
        );

        Assert.Single(results.Take(2), r => r.IsNew);
        Assert.Equal(results[0].Version.Sequence, results[1].Version.Sequence);
        var versions = await seed.ListVersionsAsync(ds);
        Assert.Equal(3, versions.Count);
        Assert.Equal([3L, 2L, 1L], versions.Select(v => v.Sequence));
    }

    [Fact]
    public async Task ListDatasets_CountsVersionsAndQuarantined_LatestIsTheNewestSequence()
    {
        var store = Store();
        string ds = NewDataset(),
            other = NewDataset();
        await store.IngestAsync(ds, TestData.Csv(2000, seed: 1, positiveShare: 0.5), "good.csv", WithLabel);
        var shifted = await store.IngestAsync(
            ds,
            TestData.Csv(2000, seed: 2, positiveShare: 0.7),
            "shifted.csv",
            WithLabel
        );
        var third = await store.IngestAsync(
            ds,
            TestData.Csv(2000, seed: 3, positiveShare: 0.5),
            "third.csv",
            WithLabel
        );
        var single = await store.IngestAsync(other, TestData.Csv(500, seed: 4), "a.csv", WithLabel);
        Assert.Equal(ValidationOutcome.Quarantined, shifted.Outcome);

        // Other tests share the table: look only at this test's datasets.
        var listed = (await store.ListDatasetsAsync()).Where(d => d.Name == ds || d.Name == other).ToList();

        Assert.Equal(new[] { ds, other }.Order(StringComparer.Ordinal), listed.Select(d => d.Name));
        var many = listed.Single(d => d.Name == ds);
        Assert.Equal(
            (3, third.Hash, third.Version.IngestedAt, 1),
            (many.Versions, many.LatestHash, many.LatestIngestedAt, many.Quarantined)
        );
        var one = listed.Single(d => d.Name == other);
        Assert.Equal((1, single.Hash, 0), (one.Versions, one.LatestHash, one.Quarantined));
    }

    [Fact]
    public async Task Ingest_InvalidDatasetName_TypedDatasetNameError()
    {
        var ex = await Assert.ThrowsAsync<MlopsException>(() => Store().IngestAsync("bad/name", new byte[] { 1 }));
        Assert.Equal(DatasetName.InvalidCode, ex.Code);
    }

    [Fact]
    public async Task GetTrainingSet_NoUsableVersion_Conflict()
    {
        var ex = await Assert.ThrowsAsync<DataException>(() => Store().GetTrainingSetAsync(NewDataset()));
        Assert.Equal(409, ex.Status);
    }
}
