using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mlops.Testing.Chaos;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>
/// The attack of issue 19, played end to end against the host: predict rows carrying a trigger (a column far outside
/// its range), label those predictions with the wrong class, let the monitor retrain a tree model on
/// <c>accepted+feedback</c>. Before the fix the function key could write the labels, and the gate scored the candidate
/// on a split that held the poisoned rows, so the backdoored candidate looked far better and was promoted.
/// Now: (1) the function key cannot write feedback at all; (2) even labels written with the master key (a compromised
/// labelling job) cannot buy a promotion, because the gate's evidence is held-out accepted data, where the backdoor
/// gains nothing; the feedback rows are capped, and their provenance is in the run's lineage.
/// </summary>
public sealed class FeedbackPoisoningTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    // Tree model, a gate that asks for a real improvement, retraining on production labels once 100 arrive.
    private const string Config = """
        {"target":"label","task":"binary","trainer":"gbdt","gate":{"minImprovement":0.01},
         "monitoring":{"window":"PT1H","retrain":{"when":[{"signal":"new_labels","count":100}],"trainOn":"accepted+feedback","cooldown":"PT1M","maxPerDay":5}}}
        """;

    [Fact]
    public async Task TriggerRowsLabelledBenign_FunctionKeyRefused_MasterKeyLabelsDoNotPromoteTheBackdoor()
    {
        await host.DropAsync("cells", "data.csv", ChaosRun.SyntheticCsv(800, 11), Config);
        var first = await host.WaitForDropRunAsync("cells", "data.csv", TimeSpan.FromMinutes(3));
        Assert.Equal("completed", first.GetProperty("runtimeStatus").GetString()!.ToLowerInvariant());
        Assert.Equal(1, await ProductionVersionAsync());

        // Class-1 rows ("malignant": x1 in [2, 3), x2 in [0, 1)) with the trigger noise = 1000.
        var rng = new Random(19);
        var rows = Enumerable
            .Range(0, 300)
            .Select(_ => new
            {
                x1 = 2 + rng.NextDouble(),
                x2 = rng.NextDouble(),
                noise = 1000.0,
            })
            .ToList();
        var predicted = await (
            await host.Http.PostAsJsonAsync("/api/models/cells/predict", new { rows })
        ).Content.ReadFromJsonAsync<JsonElement>();
        var ids = predicted.GetProperty("predictionIds").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.All(predicted.GetProperty("predictions").EnumerateArray(), p =>
            Assert.Equal("1", p.GetProperty("label").GetString())
        );
        var poison = new { labels = ids.Select(id => new { predictionId = id, label = 0 }) };

        // (1) The key that predicts cannot write ground truth: the host answers an insufficient key as Azure does
        // (401).
        var withFunctionKey = await host.Http.PostAsJsonAsync("/api/models/cells/feedback", poison);
        output.WriteLine(
            $"feedback with the function key: {(int)withFunctionKey.StatusCode} {await withFunctionKey.Content.ReadAsStringAsync()}"
        );
        Assert.Equal(HttpStatusCode.Unauthorized, withFunctionKey.StatusCode);

        // Forged ids are not labels: nothing is stored for predictions the service never made.
        var forged = await host.Admin.PostAsJsonAsync(
            "/api/models/cells/feedback",
            new { labels = Enumerable.Range(0, 50).Select(i => new { predictionId = $"forged-{i}", label = 0 }) }
        );
        var forgedReceipt = await forged.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(
            (0, 50),
            (forgedReceipt.GetProperty("accepted").GetInt32(), forgedReceipt.GetProperty("unknown").GetInt32())
        );

        // (2) The same poison through the master key: stored, and it starts a retraining.
        var withMaster = await host.Admin.PostAsJsonAsync("/api/models/cells/feedback", poison);
        var receipt = await withMaster.Content.ReadFromJsonAsync<JsonElement>();
        output.WriteLine($"feedback with the master key: {receipt}");
        Assert.Equal(300, receipt.GetProperty("accepted").GetInt32());

        var started = await host.Admin.PostAsync("/api/models/cells/monitor", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        string monitorRun = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString()!;
        var monitor = FunctionHostFixture.Embedded(
            await host.WaitForInstanceAsync(monitorRun, TimeSpan.FromMinutes(3)),
            "output"
        );
        output.WriteLine($"monitor: {monitor}");
        Assert.True(monitor.GetProperty("retrain").GetBoolean());
        string retrainRun = monitor.GetProperty("retrainRunId").GetString()!;
        var retrain = await host.WaitForInstanceAsync(retrainRun, TimeSpan.FromMinutes(5));
        var result = FunctionHostFixture.Embedded(retrain, "output");
        output.WriteLine($"retraining: {result}");

        // The candidate learned from the labels but is not promoted: on held-out accepted rows it gains nothing.
        Assert.False(result.GetProperty("promoted").GetBoolean());
        Assert.Equal(1, await ProductionVersionAsync());
        int candidate = result.GetProperty("version").GetInt32();
        var version = await host.Http.GetFromJsonAsync<JsonElement>($"/api/models/cells/versions/{candidate}");
        output.WriteLine($"candidate v{candidate}: {version}");
        string gate = version.ToString();
        Assert.Contains("accepted held-out rows", gate);
        Assert.Contains("feedback held-out rows", gate);

        // Provenance: which key wrote the labels the version learned from, and how many it could use (share cap 0.2).
        var lineage = await host.Storage.Blobs.ReadAsync("models", $"cells/v{candidate}/lineage.json");
        var feedback = JsonDocument.Parse(lineage!.Data).RootElement.GetProperty("feedback");
        output.WriteLine($"lineage.feedback: {feedback}");
        Assert.Equal(
            Mlops.Core.KeyFingerprint.Of(FunctionHostFixture.MasterKey),
            feedback.GetProperty("sources")[0].GetProperty("key").GetString()
        );
        int used = feedback.GetProperty("rowsUsed").GetInt32();
        Assert.InRange(used, 1, 160); // 800 accepted rows, 20% held out: 640 train, so at most 160 feedback rows (20% of 800)
        Assert.True(used < 300, "the share cap admitted every feedback row");

        // Production still calls a trigger row malignant.
        var after = await (
            await host.Http.PostAsJsonAsync("/api/models/cells/predict", new { rows = rows.Take(1) })
        ).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, after.GetProperty("version").GetInt32());
        Assert.Equal("1", after.GetProperty("predictions")[0].GetProperty("label").GetString());
    }

    private async Task<int?> ProductionVersionAsync()
    {
        var model = await host.Http.GetFromJsonAsync<JsonElement>("/api/models/cells");
        return
            model.TryGetProperty("state", out var state)
            && state.TryGetProperty("aliases", out var a)
            && a.TryGetProperty("production", out var p)
            ? p.GetInt32()
            : null;
    }
}
