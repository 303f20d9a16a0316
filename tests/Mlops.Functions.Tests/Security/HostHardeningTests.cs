using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Core.Storage;
using Mlops.Functions.Functions;
using Mlops.Functions.Tests.Azure;
using Mlops.Functions.Triggers;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Functions.Tests.Security;

/// <summary>The drop trigger refuses names that would move data elsewhere, and the worker refuses to run without a
/// host.</summary>
public sealed class HostHardeningTests
{
    private readonly StorageServices _storage = new(
        new InMemoryBlobStore(),
        new InMemoryQueueStore(),
        new InMemoryTableStore()
    );

    private readonly RecordingAlerts _alerts = new();

    private DataDropped Function() => new(_storage, _alerts, NullLogger<DataDropped>.Instance);

    [Theory]
    [InlineData("bc/%2e%2e/dm/evil.csv")]
    [InlineData("bc/../dm/evil.csv")]
    [InlineData("bc/./evil.csv")]
    [InlineData("bc//evil.csv")]
    public async Task DataDropped_NameWithDotSegments_IsRefusedWithAReason_NotMovedToAnotherDataset(string name)
    {
        var launcher = new RecordingLauncher();
        Assert.Null(await Function().RunAsync(name, "\"0x1\"", launcher)); // refused, not thrown: retrying cannot fix a name
        Assert.Empty(launcher.Ids);
        var refusal = Assert.Single(await _storage.Tables.QueryAllAsync(DropRefusals.Table));
        Assert.Equal(DropRefusals.NoDatasetPartition, refusal.PartitionKey); // listed under no dataset, certainly not "dm"
        Assert.Contains("'..'", refusal.GetString("Reason"));
        Assert.Equal(name, refusal.GetString("Blob"));
    }

    [Theory]
    [InlineData("cancer/notes.txt", "only .csv files")]
    [InlineData("cancer/2026/day1.csv", "sub-folders")]
    public async Task DataDropped_NotACsvOrNested_IsListedWithTheDatasetsRuns(string name, string reason)
    {
        var launcher = new RecordingLauncher();
        Assert.Null(await Function().RunAsync(name, "\"0x1\"", launcher));
        Assert.Empty(launcher.Ids);
        var listed = Assert.Single(await new DropRefusals(_storage.Tables).ListAsync("cancer"));
        Assert.Equal(name, listed.Blob);
        Assert.Contains(reason, listed.Reason);
    }

    [Theory]
    [InlineData("Bad_Name/data.csv")]
    [InlineData("a--b/data.csv")]
    public async Task DataDropped_BadDatasetName_IsRefusedNamingTheRule(string name)
    {
        Assert.Null(await Function().RunAsync(name, "\"0x1\"", new RecordingLauncher()));
        var refusal = Assert.Single(await _storage.Tables.QueryAllAsync(DropRefusals.Table));
        Assert.Contains("is not a usable dataset name", refusal.GetString("Reason"));
        Assert.Contains("lower-case letters, digits and '-'", refusal.GetString("Reason")); // the rule as it is: no '_'
    }

    [Theory]
    [InlineData("Bad_Name/data.csv", DropRefusals.NoDatasetPartition, "is not a usable dataset name")]
    [InlineData("cancer/2026/day1.csv", "cancer", "sub-folders")]
    [InlineData("cancer/../dm/evil.csv", DropRefusals.NoDatasetPartition, "'..'")]
    public async Task DataDropped_Refused_AlertsTheHostSink_NamingTheBlobAndTheReason(
        string name,
        string dataset,
        string reason
    )
    {
        Assert.Null(await Function().RunAsync(name, "\"0x1\"", new RecordingLauncher()));
        var alert = Assert.Single(_alerts.Sent);
        Assert.Equal(dataset, alert.Dataset);
        Assert.Equal(name, alert.Window);
        Assert.Equal($"incoming/{name}", alert.ReportLink);
        Assert.Contains(reason, alert.Message);
        Assert.Equal(DataDropped.RefusedCode, alert.Kind);
        Assert.Equal(Mlops.Data.Alerts.AlertSeverity.Error, alert.Severity);
    }

    [Fact]
    public async Task RefusedDrops_OfEveryDataset_NewestFirst_ThoseWithoutADatasetIncluded()
    {
        Assert.Null(await Function().RunAsync("cancer/notes.txt", "\"0x1\"", new RecordingLauncher()));
        await Task.Delay(20);
        Assert.Null(await Function().RunAsync("Bad_Name/data.csv", "\"0x1\"", new RecordingLauncher()));
        var listed = await new DropRefusals(_storage.Tables).ListNewestAsync(10);
        Assert.Equal(["Bad_Name/data.csv", "cancer/notes.txt"], listed.Select(x => x.Refusal.Blob));
        Assert.Equal([null, "cancer"], listed.Select(x => x.Dataset));
        Assert.Single(await new DropRefusals(_storage.Tables).ListNewestAsync(1));
    }

    [Fact]
    public async Task DataDropped_ConfigFile_IsIgnored_NotRefusedAndNotTrained()
    {
        var launcher = new RecordingLauncher();
        Assert.Null(await Function().RunAsync("cancer/mlops.json", "\"0x1\"", launcher));
        Assert.Empty(launcher.Ids);
        Assert.Empty(await new DropRefusals(_storage.Tables).ListAsync("cancer"));
        Assert.Empty(_alerts.Sent);
    }

    [Fact]
    public async Task DataDropped_Csv_StartsOneRunPerBlobVersion_WithTheDropTrigger()
    {
        var launcher = new RecordingLauncher();
        string? first = await Function().RunAsync("cancer/data.csv", "\"0x1\"", launcher);
        string? again = await Function().RunAsync("cancer/data.csv", "0x1", launcher); // a redelivered event, ETag unquoted
        string? next = await Function().RunAsync("cancer/data.csv", "\"0x2\"", launcher);
        Assert.NotNull(first);
        Assert.Equal(first, again);
        Assert.NotEqual(first, next);
        Assert.StartsWith("train-cancer-", first);
        Assert.All(launcher.Triggers, t => Assert.Equal(("drop", "cancer/data.csv"), (t.Kind, t.BlobName)));
        Assert.Empty(_alerts.Sent);
    }

    [Fact]
    public async Task WorkerProcess_StartedWithoutAHost_SaysHowToRunIt_ExitCode2()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Mlops.Functions.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated"; // left over in a shell: not a host's start by itself
        using var process = Process.Start(psi)!;
        string stderr = await process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("dotnet run --project functions/Mlops.Host", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", stderr + stdout);
    }
}

/// <summary>Keeps the alerts sent to the host's sink.</summary>
internal sealed class RecordingAlerts : Mlops.Data.Alerts.IAlertSink
{
    public List<Mlops.Data.Alerts.Alert> Sent { get; } = [];

    public Task SendAsync(Mlops.Data.Alerts.Alert alert, CancellationToken cancellationToken = default)
    {
        lock (Sent)
            Sent.Add(alert);
        return Task.CompletedTask;
    }
}
