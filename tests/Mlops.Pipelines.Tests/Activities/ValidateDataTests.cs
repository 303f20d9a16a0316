using System.Text;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Training;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Pipelines.Tests.Activities;

public sealed class ValidateDataTests
{
    private static readonly PipelineConfig Config = new() { Target = "y", Task = "binary" };

    private static PipelineServices Services() =>
        PipelineServices.Create(
            new StorageServices(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore())
        );

    private static byte[] Csv(int rows)
    {
        var csv = new StringBuilder("x,y\n");
        for (int i = 0; i < rows; i++)
            csv.Append(i).Append(',').Append(i % 2).Append('\n');
        return Encoding.UTF8.GetBytes(csv.ToString());
    }

    [Fact]
    public async Task RunAsync_NoReportForTheVersion_ErrorNotAPass()
    {
        var services = Services();
        string hash = new string('a', 64);

        var e = await Assert.ThrowsAsync<MlopsException>(() =>
            new ValidateData(services).RunAsync(null!, new ValidateRequest("churn", hash, Config, "train-churn-run-x"))
        );

        Assert.Equal("validation.report_missing", e.Code);
        Assert.Contains("never validated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AcceptedVersion_PassesWithItsReport()
    {
        var services = Services();
        var ingest = await services.Datasets.IngestAsync("churn", Csv(200));
        Assert.False(ingest.Report.IsQuarantined);

        var result = await new ValidateData(services).RunAsync(
            null!,
            new ValidateRequest("churn", ingest.Version.Hash, Config, "train-churn-run-x")
        );

        Assert.True(result.Passed);
        Assert.Equal($"datasets/churn/{ingest.Version.Hash}/validation.json", result.ReportLocation);
    }

    [Fact]
    public async Task RunAsync_QuarantinedVersion_FailsWithTheQuarantineReport()
    {
        var services = Services();
        var ingest = await services.Datasets.IngestAsync("churn", Array.Empty<byte>());
        Assert.True(ingest.Report.IsQuarantined);

        var result = await new ValidateData(services).RunAsync(
            null!,
            new ValidateRequest("churn", ingest.Version.Hash, Config, "train-churn-run-x")
        );

        Assert.False(result.Passed);
        Assert.Equal("quarantined", result.Outcome);
        Assert.True(result.Errors > 0);
        Assert.Equal($"quarantine/churn/{ingest.Version.Hash}/validation.json", result.ReportLocation);
    }
}
