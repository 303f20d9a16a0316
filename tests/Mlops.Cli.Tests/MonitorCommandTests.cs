using System.Text.Json;
using Mlops.Core.Storage;
using Mlops.Monitoring;
using Mlops.Storage.Azure;
using Mlops.Testing;
using Xunit;

namespace Mlops.Cli.Tests;

public class MonitorCommandTests
{
    [Fact]
    public async Task Monitor_PrintsLatestVerdictsAsTableAndJson()
    {
        await using var azurite = await AzuriteInstance.StartAsync();
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        var t0 = new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
        // Two runs as the orchestration's store writes them (summary rows only: the CLI reads the run table).
        foreach (var (run, drift) in new[] { ("run-1", "ok"), ("run-2", "breach") })
            await storage.Tables.UpsertAsync(
                MonitoringStore.RunsTable,
                new TableRow(
                    "churn",
                    run,
                    new Dictionary<string, object?>
                    {
                        ["GeneratedAt"] = t0,
                        ["WindowFrom"] = t0,
                        ["WindowTo"] = t0.AddDays(1),
                        ["Rows"] = 1234L,
                        ["ReferenceVersion"] = 3L,
                        ["Verdicts"] = $$"""{"data_drift":"{{drift}}","performance":"insufficient_data"}""",
                        ["Retrain"] = drift == "breach",
                        ["Reason"] = "data drift: 60% of features drifted (limit 50%)",
                        ["Report"] = $"monitoring/churn/{run}/report.json",
                        ["Baseline"] = drift == "breach" ? "previous-window" : null, // run-1 as recorded before baselines were selectable
                    }
                )
            );

        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, CliApp.Run(["monitor", "churn", "--connection", azurite.ConnectionString], output, error));
        string table = output.ToString();
        Assert.True(
            table.IndexOf("run-2", StringComparison.Ordinal) < table.IndexOf("run-1", StringComparison.Ordinal),
            table
        ); // newest first
        Assert.Contains("breach", table);
        Assert.Contains("insufficient data", table);
        Assert.Contains("started", table);
        Assert.Contains("monitoring/churn/run-2/report.json", table);
        Assert.Contains("previous-window", table);
        Assert.Contains("serving", table);

        output = new StringWriter();
        Assert.Equal(
            0,
            CliApp.Run(
                ["monitor", "churn", "--take", "1", "--json", "--connection", azurite.ConnectionString],
                output,
                error
            )
        );
        using var doc = JsonDocument.Parse(output.ToString());
        Assert.Equal("breach", doc.RootElement[0].GetProperty("verdicts").GetProperty("data_drift").GetString());
        Assert.Equal(1, doc.RootElement.GetArrayLength());
        Assert.Equal("previous-window", doc.RootElement[0].GetProperty("baseline").GetString());

        Assert.Equal(
            1,
            CliApp.Run(["monitor", "bad name", "--connection", azurite.ConnectionString], new StringWriter(), error)
        );
        Assert.Contains("dataset.invalid_name", error.ToString());
    }
}
