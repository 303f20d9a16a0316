using System.Text;
using Mlops.Core.Errors;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Tracking.Tests;

/// <summary>The index against the in-memory storage doubles: recording from a trial's blobs, lazy and bulk rebuilds,
/// queries.</summary>
public sealed class RunIndexTests
{
    private readonly InMemoryBlobStore _blobs = new();
    private readonly InMemoryTableStore _tables = new();

    private RunQueries Queries => new(new RunIndex(_blobs, _tables));

    /// <summary>Writes what a trial writes (result.json as TrainCandidate does, with or without the prune
    /// fields).</summary>
    private async Task WriteTrialAsync(string runId, int leaves, double auc, string? status = null, int rounds = 5)
    {
        string prune = status is null
            ? ""
            : $""","status":"{status}","prunedAtRound":3,"pruneReason":"below median at round 3" """;
        await Put(
            runId,
            "result.json",
            $$"""
            {"runId":"{{runId}}","params":{"num_leaves":{{leaves}},"learning_rate":0.1},"trainer":"gbdt","primaryMetric":"auc","primaryValue":{{auc}},
             "higherIsBetter":true,"validationMetrics":{"auc":{{auc}},"logloss":0.3},"trainSeconds":1.5,"modelBlob":"{{runId}}/model.json"{{prune}}}
            """
        );
        await Put(
            runId,
            "params.json",
            $$"""{"runId":"{{runId}}","dataset":"bc","dataVersions":["abc123"],"task":"binary","target":"y","seed":42}"""
        );
        await Put(runId, "env.json", """{"codeVersion":"deadbeef","cores":2}""");
        var curve = new StringBuilder();
        for (int r = 1; r <= rounds; r++)
            curve
                .Append(
                    $$"""{"round":{{r}},"train":{{0.6 - 0.05 * r}},"validation":{{0.62 - 0.04 * r + (r == rounds ? 0.05 : 0)}},"metric":"logloss"}"""
                )
                .Append('\n');
        await Put(runId, "metrics.jsonl", curve.ToString());
    }

    private Task Put(string runId, string name, string text) =>
        _blobs.WriteAsync("runs", $"{runId}/{name}", Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task Record_ReadsTheTrialsBlobs_StatusDefaultsToCompleted_PruneFieldsAreKept()
    {
        await WriteTrialAsync("train-bc-1-t0", 31, 0.95);
        await WriteTrialAsync("train-bc-1-t1-r0", 63, 0.90, status: "pruned");
        var index = new RunIndex(_blobs, _tables);
        var done = await index.RecordAsync("train-bc-1-t0", "random");
        var pruned = await index.RecordAsync("train-bc-1-t1-r0", "adaptive");

        var row = (await index.GetAsync("train-bc-1-t0"))!;
        Assert.Equal(("train-bc-1", 0, null), (row.Pipeline, row.Trial, row.Rung));
        Assert.Equal(
            ("bc", "random", "completed", "gbdt", "binary"),
            (row.Dataset, row.SweepMethod, row.Status, row.Trainer, row.Task)
        );
        Assert.Equal(0.95, row.Metrics["auc"]);
        Assert.Equal(31, row.Params["num_leaves"].GetInt32());
        Assert.Equal(42, row.Params["seed"].GetInt32()); // the seed joins the params, so runs group by it
        var logloss = row.Curves["logloss"];
        Assert.Equal(
            (0.46, 0.47, 0.58, 4),
            (Math.Round(logloss.Best, 12), Math.Round(logloss.Last, 12), Math.Round(logloss.Max, 12), logloss.BestRound)
        );
        Assert.Equal(Mlops.Core.Json.Serialize(done), Mlops.Core.Json.Serialize(row)); // the row reads back as it was recorded
        Assert.Equal("adaptive", pruned!.SweepMethod);

        var p = (await index.GetAsync("train-bc-1-t1-r0"))!;
        Assert.Equal(
            ("pruned", 3, "below median at round 3", 1, 0),
            (p.Status, p.PrunedAtRound, p.PruneReason, p.Trial, p.Rung)
        );
        Assert.Null(await index.RecordAsync("train-bc-1-t9")); // no result yet: nothing to index
    }

    [Fact]
    public async Task RecordWritten_FromTheBytesJustWritten_GivesTheSameRecordAsReadingTheBlobsBack()
    {
        await WriteTrialAsync("train-bc-2-t1-r0", 15, 0.93, status: "pruned");
        async Task<byte[]> Bytes(string name) =>
            (await _blobs.ReadAsync("runs", $"train-bc-2-t1-r0/{name}"))!.Data.ToArray();
        var fromBlobs = (
            await new RunIndex(_blobs, new InMemoryTableStore()).RecordAsync("train-bc-2-t1-r0", "bayes")
        )!;

        var index = new RunIndex(_blobs, _tables);
        var written = await index.RecordWrittenAsync(
            "train-bc-2-t1-r0",
            await Bytes("result.json"),
            await Bytes("params.json"),
            await Bytes("metrics.jsonl"),
            "bayes"
        );

        // Only the creation time differs (the blob's last-modified time against the clock at recording).
        Assert.Equal(
            Mlops.Core.Json.Serialize(fromBlobs with { CreatedAt = default }),
            Mlops.Core.Json.Serialize(written with { CreatedAt = default })
        );
        Assert.Equal(
            Mlops.Core.Json.Serialize(written),
            Mlops.Core.Json.Serialize(await index.GetAsync("train-bc-2-t1-r0"))
        );
    }

    [Fact]
    public async Task Get_RunWithoutARow_IsIndexedFromItsBlobs_UnknownIs404()
    {
        await WriteTrialAsync("old-run-t0", 15, 0.91);
        var detail = await Queries.GetAsync("old-run-t0");
        Assert.Equal(5, detail.Curve.Count);
        Assert.Equal(["abc123"], detail.Lineage!.DataVersions);
        Assert.Equal("deadbeef", detail.Lineage.CodeVersion);
        Assert.Null(detail.Evaluation);
        string json = Mlops.Core.Json.Serialize(detail);
        Assert.Contains("\"evaluation\":null", json); // stable shape: absent documents are null, not missing
        Assert.Contains("\"prunedAtRound\":null", json);
        Assert.NotNull(await _tables.GetAsync(RunIndex.Table, "old-run", "old-run-t0")); // the lazy path wrote the row

        var missing = await Assert.ThrowsAsync<NotFoundException>(() => Queries.GetAsync("nope-t0"));
        Assert.Equal("runs.not_found", missing.Code);
        Assert.Equal(400, (await Assert.ThrowsAsync<MlopsException>(() => Queries.GetAsync("../secrets"))).Status);
    }

    [Fact]
    public async Task Reindex_IndexesOnlyRunsWithoutARow_AndListingFiltersSortsAndPages()
    {
        for (int i = 0; i < 6; i++)
            await WriteTrialAsync($"sweep-a-t{i}", 8 << i, 0.80 + 0.02 * i);
        await WriteTrialAsync("single-b-t0", 31, 0.99);
        await _blobs.WriteAsync("runs", "sweep-a/sweep.json", """{"method":"random","trials":6}"""u8.ToArray());
        var index = new RunIndex(_blobs, _tables);
        await index.RecordAsync("sweep-a-t0", "random");

        var (indexed, existing) = await index.ReindexAsync();
        Assert.Equal((6, 1), (indexed, existing));
        Assert.Equal((0, 7), await index.ReindexAsync());
        Assert.Equal("random", (await index.GetAsync("sweep-a-t3"))!.SweepMethod); // read from the sweep's sweep.json

        var page = await Queries.ListAsync(
            new RunQuery(
                Filter: "params.num_leaves >= 32 and metrics.auc < 0.9",
                OrderBy: "metrics.auc desc",
                Limit: 2,
                Offset: 1
            )
        );
        Assert.Equal(3, page.Total); // t2 (32 leaves, 0.84), t3 (64, 0.86), t4 (128, 0.88)
        Assert.Equal(["sweep-a-t3", "sweep-a-t2"], page.Runs.Select(r => r.RunId));
        Assert.Equal(["learning_rate", "num_leaves", "seed"], page.Columns.Params);
        Assert.Equal(1, (await Queries.ListAsync(new RunQuery(Pipeline: "single-b"))).Total);
        Assert.Equal(6, (await Queries.ListAsync(new RunQuery(Dataset: "bc", Filter: "sweepMethod = 'random'"))).Total);
        await Assert.ThrowsAsync<MlopsException>(() => Queries.ListAsync(new RunQuery(Limit: 0)));

        var sweep = await Queries.SweepAsync("sweep-a");
        Assert.Equal(6, sweep.Trials.Count);
        Assert.Equal(6, sweep.Summary!.Value.GetProperty("trials").GetInt32());
        await Assert.ThrowsAsync<NotFoundException>(() => Queries.SweepAsync("no-sweep"));

        var compare = await Queries.CompareAsync(["sweep-a-t0", "sweep-a-t1", "sweep-a-t1"], step: 3);
        Assert.Equal(2, compare.Runs.Count); // duplicates collapse
        Assert.Equal(["num_leaves"], compare.ParamDiff.Select(d => d.Param));
        Assert.All(compare.MetricsAtStep, m => Assert.Equal(3, m.Round));
        await Assert.ThrowsAsync<MlopsException>(() => Queries.CompareAsync(["sweep-a-t0"], null));

        var groups = await Queries.GroupAsync("pipeline", filter: null);
        Assert.Equal([6, 1], groups.Groups.Select(g => g.Count));
    }

    [Fact]
    public async Task List_KeepsItsSnapshotCurrentFromTheChangeFeed_IncludingWritesFromAHostWithASlowClock()
    {
        var readerClock = new ManualClock(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var reader = new RunIndex(_blobs, _tables, readerClock);
        var writer = new RunIndex(_blobs, _tables, new ManualClock(readerClock.UtcNow.AddSeconds(-30))); // another host, 30 s behind
        await WriteTrialAsync("feed-t0", 8, 0.80);
        await writer.RecordAsync("feed-t0");
        Assert.Equal(["feed-t0"], (await reader.ListAllAsync()).Select(r => r.RunId));

        await WriteTrialAsync("feed-t1", 16, 0.85);
        await writer.RecordAsync("feed-t1");
        await WriteTrialAsync("feed-t0", 8, 0.80, status: "pruned"); // the same run recorded again, now pruned
        await writer.RecordAsync("feed-t0");
        readerClock.UtcNow = readerClock.UtcNow.AddSeconds(1);
        var runs = (await reader.ListAllAsync()).OrderBy(r => r.RunId).ToList();
        Assert.Equal(["feed-t0", "feed-t1"], runs.Select(r => r.RunId));
        Assert.Equal("pruned", runs[0].Status);
        Assert.Equal(16, runs[1].Params["num_leaves"].GetInt32());

        // A writer whose clock is further off than the margin is missed by the feed, but not by the periodic rescan.
        var far = new RunIndex(_blobs, _tables, new ManualClock(readerClock.UtcNow.AddMinutes(-3)));
        await WriteTrialAsync("feed-t2", 32, 0.9);
        await far.RecordAsync("feed-t2");
        readerClock.UtcNow = readerClock.UtcNow.AddSeconds(1);
        Assert.Equal(2, (await reader.ListAllAsync()).Count);
        readerClock.UtcNow = readerClock.UtcNow.Add(RunSnapshot.RescanInterval);
        Assert.Equal(3, (await reader.ListAllAsync()).Count);
    }

    [Theory]
    [InlineData("sweep-t99999999999")] // trial beyond int32
    [InlineData("sweep-t1-r99999999999")] // rung beyond int32
    public async Task Get_TrialNumberBeyondInt32_AnOrdinaryRunNotA500(string runId)
    {
        Assert.Equal((runId, (int?)null, (int?)null), RunIds.Parse(runId));
        await WriteTrialAsync(runId, 8, 0.9);

        var detail = await Queries.GetAsync(runId); // before: OverflowException from int.Parse, answered 500

        Assert.Equal(runId, detail.RunId);
        Assert.Equal(("sweep", 12, (int?)3), RunIds.Parse("sweep-t12-r3"));
    }

    [Fact]
    public async Task Reindex_OneUnreadableRun_SkippedAndReported_OthersIndexed()
    {
        await WriteTrialAsync("good-t0", 8, 0.9);
        await WriteTrialAsync("good-t1", 16, 0.8);
        await Put("bad-t0", "result.json", "[1, 2]"); // valid JSON, not a run: reading it as one throws

        var report = await new RunIndex(_blobs, _tables).ReindexWithReportAsync();

        Assert.Equal(2, report.Indexed);
        var skipped = Assert.Single(report.Skipped);
        Assert.StartsWith("runs/bad-t0/result.json: ", skipped);
        Assert.NotNull(await new RunIndex(_blobs, _tables).GetAsync("good-t1"));
    }

    private sealed class ManualClock(DateTimeOffset now) : Mlops.Core.IClock
    {
        public DateTimeOffset UtcNow { get; set; } = now;
    }
}
