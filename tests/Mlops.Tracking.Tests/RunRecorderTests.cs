using System.Text;
using System.Text.Json;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Tracking.Tests;

/// <summary>The run's layout has one writer (<see cref="RunRecorder"/>) and one reader (<see cref="RunArtifacts"/>) on
/// the same types.</summary>
public sealed class RunRecorderTests
{
    private readonly InMemoryBlobStore _blobs = new();

    private static TrialResult Result(string runId, string status = TrialResult.Completed) =>
        new(
            runId,
            new Dictionary<string, JsonElement> { ["num_leaves"] = JsonSerializer.SerializeToElement(15) },
            "gbdt",
            "auc",
            0.91,
            true,
            new Dictionary<string, double>
            {
                ["auc"] = 0.91,
                ["logloss"] = 0.3,
                ["pr_auc"] = double.NaN,
            },
            2.5,
            $"{runId}/model.json",
            status,
            status == TrialResult.Pruned ? 4 : null,
            status == TrialResult.Pruned ? "behind at round 4" : null
        );

    private async Task<(byte[] Result, byte[] Params, byte[] Curve)> RecordAsync(
        string runId,
        string status = TrialResult.Completed
    )
    {
        var recorder = new RunRecorder(_blobs);
        await recorder.WriteModelAsync(runId, "{}"u8.ToArray());
        var parameters = await recorder.WriteParametersAsync(
            new RunParameters(
                runId,
                "bc",
                ["abc123"],
                "rung 1/2",
                "binary",
                "y",
                "gbdt",
                new Dictionary<string, JsonElement> { ["num_leaves"] = JsonSerializer.SerializeToElement(15) },
                7
            )
        );
        var curve = await recorder.WriteCurveAsync(
            runId,
            [new CurvePoint(1, 0.6, 0.62, 0.01, "logloss"), new CurvePoint(2, 0.5, 0.55, 0.02, "logloss")]
        );
        await recorder.WriteEnvironmentAsync(
            runId,
            new RunEnvironment(
                "deadbeef",
                new Dictionary<string, string> { [".NET"] = "10" },
                "m",
                2,
                "linux",
                2.5,
                80,
                20
            )
        );
        var result = await recorder.WriteResultAsync(Result(runId, status));
        return (result, parameters, curve);
    }

    [Fact]
    public async Task WrittenRun_ReadBack_TheSameRecordAsFromTheWrittenBytes()
    {
        var written = await RecordAsync("train-bc-run-1-t0-r0", TrialResult.Pruned);
        var now = DateTimeOffset.UtcNow;

        var loaded = (await new RunArtifacts(_blobs).LoadRecordAsync("train-bc-run-1-t0-r0", "adaptive"))!;
        var fromBytes = RunArtifacts.FromWritten(
            "train-bc-run-1-t0-r0",
            written.Result,
            written.Params,
            written.Curve,
            "adaptive",
            loaded.CreatedAt!.Value
        );

        Assert.Equal(Mlops.Core.Json.Serialize(fromBytes), Mlops.Core.Json.Serialize(loaded));
        Assert.Equal(
            ("bc", "rung 1/2", "binary", "gbdt", "pruned", 4),
            (loaded.Dataset, loaded.Stage, loaded.Task, loaded.Trainer, loaded.Status, loaded.PrunedAtRound)
        );
        Assert.Equal(7, loaded.Params["seed"].GetInt32());
        Assert.Equal(15, loaded.Params["num_leaves"].GetInt32());
        Assert.False(loaded.Metrics.ContainsKey("pr_auc")); // undefined metrics stay out of the index
        Assert.Equal(0.55, loaded.Curves["logloss"].Last);
        Assert.True(loaded.CreatedAt <= now.AddMinutes(1));
    }

    [Fact]
    public async Task WrittenRun_LayoutIsTheDocumentedOne()
    {
        await RecordAsync("train-bc-run-1-t0");
        string[] expected = ["env.json", "metrics.jsonl", "model.json", "params.json", "result.json"];
        var names = new List<string>();
        await foreach (var blob in _blobs.ListAsync(RunArtifacts.Container, "train-bc-run-1-t0/"))
            names.Add(blob.Name);
        Assert.Equal(expected.Select(n => $"train-bc-run-1-t0/{n}"), names.Order(StringComparer.Ordinal));
        var artifacts = new RunArtifacts(_blobs);
        Assert.Equal(Result("train-bc-run-1-t0").RunId, (await artifacts.ReadResultAsync("train-bc-run-1-t0"))!.RunId);
        Assert.Equal(["abc123"], (await artifacts.ReadParametersAsync("train-bc-run-1-t0"))!.DataVersions);
        Assert.Equal([1, 2], (await artifacts.ReadCurveAsync("train-bc-run-1-t0")).Select(p => p.Round));
    }

    [Fact]
    public async Task Sweep_WrittenInItsFolder_ItsMethodIndexesTheTrials()
    {
        await new RunRecorder(_blobs).WriteSweepAsync(new SweepRecord("train-bc-run-1", "bc", "bayes"));
        await RecordAsync("train-bc-run-1-t3");

        var record = (await new RunArtifacts(_blobs).LoadRecordAsync("train-bc-run-1-t3"))!;

        Assert.Equal("bayes", record.SweepMethod);
        Assert.NotNull(await _blobs.ReadAsync(RunArtifacts.Container, "train-bc-run-1/sweep.json"));
    }

    [Fact]
    public void ParseCurve_LinesWithoutRoundOrTrain_Skipped()
    {
        var jsonl = Encoding.UTF8.GetBytes(
            """
            {"round":1,"train":0.5,"validation":0.6,"metric":"logloss"}
            {"train":0.4}
            {"round":3}
            not json
            {"round":4,"train":0.3,"elapsed":1.5}
            """
        );
        var points = RunArtifacts.ParseCurve(jsonl);
        Assert.Equal([1, 4], points.Select(p => p.Round));
        Assert.Equal((0.6, (double?)null, "logloss"), (points[0].Validation, points[0].Elapsed, points[0].Metric));
        Assert.Equal(1.5, points[1].Elapsed);
    }
}
