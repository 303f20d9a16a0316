using System.Diagnostics;
using System.Text;
using Mlops.Data.Profiling;
using Mlops.Data.Schema;
using Mlops.Data.Validation;
using Mlops.Data.Versions;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Data.Tests.Versions;

/// <summary>
/// Wide files (issue 19): 300,000 columns × 40 rows held a core for 13 minutes because every column's profile and
/// schema entry was found by a linear scan. Lookups are indexed, and files wider than a documented limit are
/// quarantined unparsed with a report that says so.
/// </summary>
public class WideFileTests
{
    private static byte[] Csv(int columns, int rows)
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', Enumerable.Range(0, columns).Select(c => $"c{c}")).Append('\n');
        for (int r = 0; r < rows; r++)
            sb.AppendJoin(',', Enumerable.Range(0, columns).Select(c => (c + r) % 7)).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    [Fact]
    public async Task IngestAsync_MoreColumnsThanTheLimit_QuarantinedWithTooManyColumns_DataKept()
    {
        var blobs = new InMemoryBlobStore();
        var store = new DatasetStore(
            blobs,
            new InMemoryTableStore(),
            options: new DatasetStoreOptions { MaxColumns = 100 }
        );
        var data = Csv(101, 3);

        var result = await store.IngestAsync("wide", data, "incoming/wide/data.csv");

        Assert.Equal(ValidationOutcome.Quarantined, result.Version.Outcome);
        var anomaly = Assert.Single(result.Report.Anomalies);
        Assert.Equal(AnomalyCodes.TooManyColumns, anomaly.Code);
        Assert.Contains("101 columns; at most 100", anomaly.Message);
        Assert.Equal((101.0, 100.0), (anomaly.Value, anomaly.Threshold));
        Assert.Equal(data, (await blobs.ReadAsync("quarantine", $"wide/{result.Version.Hash}/data.csv"))?.Data); // set aside, not lost

        var atTheLimit = await store.IngestAsync("narrow", Csv(100, 3));
        Assert.NotEqual(ValidationOutcome.Quarantined, atTheLimit.Version.Outcome);
    }

    [Fact]
    public void DataProfileAndSchemaFind_EveryColumnOfAHundredThousand_Linear()
    {
        var names = Enumerable.Range(0, 100_000).Select(c => $"column-{c}").ToList();
        var profile = new DataProfile(
            1,
            names.Select(n => new ColumnProfile(n, Mlops.Data.Tabular.ColumnKind.Numeric, 1, 0, 0, 1)).ToList(),
            null,
            null,
            0
        );
        var schema = new DatasetSchema { Columns = names.Select(n => new ColumnSchema { Name = n }).ToList() };

        var clock = Stopwatch.StartNew();
        foreach (var n in names)
        {
            Assert.Same(n, profile.Find(n)!.Name);
            Assert.Same(n, schema.Find(n)!.Name);
        }
        Assert.Null(profile.Find("absent"));
        // A scan per lookup is 5·10^9 string comparisons per call site here (tens of seconds); the index is
        // milliseconds.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"200,000 lookups took {clock.Elapsed}");
    }

    [Fact]
    public void SchemaFind_ColumnsReplacedByWith_FindsTheNewList()
    {
        var schema = new DatasetSchema { Columns = [new ColumnSchema { Name = "a" }] };
        Assert.NotNull(schema.Find("a"));
        var edited = schema with { Columns = [new ColumnSchema { Name = "b" }] };
        Assert.Null(edited.Find("a"));
        Assert.NotNull(edited.Find("b"));
        schema.Columns.Add(new ColumnSchema { Name = "c" });
        Assert.NotNull(schema.Find("c"));
    }
}
