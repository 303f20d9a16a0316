using System.Text;
using Mlops.Data.Versions;
using Mlops.Monitoring;
using Mlops.Pipelines.Monitoring;
using Mlops.Registry;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Pipelines.Tests.Monitoring;

public class RegistryBaselineDataTests
{
    private static async Task<(RegistryBaselineData Data, string[] Hashes)> TwoVersionsAsync()
    {
        var blobs = new InMemoryBlobStore();
        var tables = new InMemoryTableStore();
        var datasets = new DatasetStore(blobs, tables);
        var hashes = new List<string>();
        foreach (int seed in new[] { 1, 2 })
        {
            var csv = new StringBuilder("x,y\n");
            var rng = new Random(seed);
            for (int i = 0; i < 200; i++)
                csv.Append(rng.NextDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture))
                    .Append(',')
                    .Append(i % 2)
                    .Append('\n');
            hashes.Add((await datasets.IngestAsync("sales", Encoding.UTF8.GetBytes(csv.ToString()))).Hash);
        }
        return (new RegistryBaselineData(datasets, new ModelRegistry(blobs, tables)), hashes.ToArray());
    }

    [Fact]
    public async Task A_unique_prefix_resolves_to_the_full_hash_and_its_rows_load()
    {
        var (data, hashes) = await TwoVersionsAsync();

        string hash = await data.ResolveDatasetHashAsync("sales", hashes[1][..10], CancellationToken.None);

        Assert.Equal(hashes[1], hash);
        Assert.Equal(200, (await data.LoadDatasetAsync("sales", hash, CancellationToken.None)).RowCount);
    }

    [Fact]
    public async Task An_unknown_or_ambiguous_prefix_is_a_clear_error()
    {
        var (data, hashes) = await TwoVersionsAsync();
        string unknown = hashes.Any(h => h.StartsWith("ffffff", StringComparison.Ordinal)) ? "eeeeee" : "ffffff";

        var none = await Assert.ThrowsAsync<MonitoringException>(() =>
            data.ResolveDatasetHashAsync("sales", unknown, CancellationToken.None)
        );
        Assert.Equal(404, none.Status);
        Assert.Contains(hashes[0][..12], none.Message);

        // The empty prefix matches both versions: ambiguous (the options parser never lets it through; the resolver
        // still refuses).
        var both = await Assert.ThrowsAsync<MonitoringException>(() =>
            data.ResolveDatasetHashAsync("sales", "", CancellationToken.None)
        );
        Assert.Contains("matches 2 versions", both.Message);
    }
}
