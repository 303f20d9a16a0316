using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>A bayes sweep with hyperband early termination, through the real activities on Azurite, to
/// promotion.</summary>
public sealed class SweepEndToEndTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    // Learning rates from 0.005 to 0.5: at round 5 the slow trials are far behind, so hyperband has something to stop.
    private const string Config = """
        {"target":"target","task":"binary","trainer":"gbdt","params":{"num_rounds":60,"min_data_in_leaf":5},
         "sweep":{"method":"bayes","maxTrials":6,"parallelism":2,"nStartup":2,
                  "parameters":{"learning_rate":{"min":0.005,"max":0.5,"log":true},"num_leaves":{"min":4,"max":31,"int":true}},
                  "earlyTerminate":{"type":"hyperband","minIter":5,"eta":3}}}
        """;

    private async Task<JsonElement> ReadRunBlobAsync(string name)
    {
        var blob = await host.Storage.Blobs.ReadAsync("runs", name);
        Assert.True(blob is not null, $"runs/{name} is missing");
        return JsonDocument.Parse(blob!.Data).RootElement;
    }

    [Fact]
    public async Task BayesSweepWithHyperband_PrunesSomeTrials_PromotesACompletedOne_RecordsSweepJson()
    {
        await host.DropAsync("sweepcancer", "part1.csv", DropToModelTests.BreastCancer, Config);
        var status = await host.WaitForDropRunAsync("sweepcancer", "part1.csv", TimeSpan.FromMinutes(4));
        output.WriteLine(status.ToString());
        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        var result = FunctionHostFixture.Embedded(status, "output");
        Assert.Equal("promoted", result.GetProperty("outcome").GetString());
        Assert.Equal(6, result.GetProperty("trials").GetInt32());
        int pruned = result.GetProperty("prunedTrials").GetInt32();
        Assert.InRange(pruned, 1, 5);
        var progress = FunctionHostFixture.Embedded(status, "customStatus");
        Assert.Equal(100, progress.GetProperty("percent").GetInt32());

        string instanceId = status.GetProperty("instanceId").GetString()!;
        var sweep = await ReadRunBlobAsync($"{instanceId}/sweep.json");
        output.WriteLine(sweep.ToString());
        Assert.Equal("bayes", sweep.GetProperty("method").GetString());
        var trials = sweep.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(6, trials.Count);
        Assert.Equal(pruned, trials.Count(t => t.GetProperty("status").GetString() == "pruned"));
        string chosen = sweep.GetProperty("chosen").GetString()!;
        Assert.Equal(
            "completed",
            trials.Single(t => t.GetProperty("runId").GetString() == chosen).GetProperty("status").GetString()
        );

        // A pruned trial is a tracked run that says where and why it stopped, and its curve ends there.
        var stopped = trials.First(t => t.GetProperty("status").GetString() == "pruned");
        string runId = stopped.GetProperty("runId").GetString()!;
        var trialResult = await ReadRunBlobAsync($"{runId}/result.json");
        int round = trialResult.GetProperty("prunedAtRound").GetInt32();
        Assert.Contains(round, new[] { 5, 15, 45 });
        Assert.StartsWith("hyperband:", trialResult.GetProperty("pruneReason").GetString());
        var curve = Encoding
            .UTF8.GetString((await host.Storage.Blobs.ReadAsync("runs", $"{runId}/metrics.jsonl"))!.Data)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .ToList();
        Assert.Equal(round, curve.Count);
        Assert.All(curve, l =>
            Assert.True(
                l.GetProperty("elapsed").GetDouble() >= 0
                    && l.GetProperty("validation").ValueKind == JsonValueKind.Number
            )
        );

        var completed = await ReadRunBlobAsync($"{chosen}/result.json");
        Assert.Equal("completed", completed.GetProperty("status").GetString());
    }
}
