using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Training;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Reports;
using Mlops.Monitoring.Window;
using Mlops.Storage.InMemory;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

/// <summary>
/// Attribution drift: registration-time mean |SHAP| per column in the reference profile, the same over a sample of the
/// window's logged rows, and the shift of each column's share in the report, the verdicts and the retraining policy.
/// </summary>
public class AttributionDriftTests
{
    private static (ML.Models.Model Model, ReferenceProfile Reference) Trained(Random rng, TrainerKind trainer)
    {
        var train = MonitorRunTests.Table(rng, 4000);
        var test = MonitorRunTests.Table(rng, 1000);
        var options = trainer == TrainerKind.Gbdt ? new Dictionary<string, object> { ["num_rounds"] = 30 } : null;
        var model = ModelTrainer
            .Train(train, new TrainingSpec("y", MlTask.Binary) { Trainer = trainer, Options = options })
            .Model;
        return (model, ReferenceProfile.Build(train, model, calibration: test, now: T0));
    }

    private static async Task<MonitorReport> RunAsync(
        ML.Models.Model model,
        ReferenceProfile reference,
        DataTable served,
        string optionsJson
    )
    {
        var blobs = new InMemoryBlobStore();
        var predictions = model.PredictBatch(served);
        var lines = new List<string>();
        // A few rows per request, as clients batch: the sample draws rows from inside lines too.
        for (int i = 0; i < served.RowCount; i += 3)
        {
            var rows = Enumerable.Range(i, Math.Min(3, served.RowCount - i)).ToList();
            lines.Add(
                Line(
                    T0.AddHours(1).AddSeconds(i),
                    1,
                    rows.Select(r => Row(served, r)).ToList(),
                    rows.Select(r => predictions.Values[r]).ToList(),
                    null
                )
            );
        }
        await AppendAsync(blobs, T0.AddHours(1), lines.ToArray());
        var clock = new FixedClock(T0.AddHours(26));
        var runner = new MonitorRunner(
            new PredictionLogReader(blobs),
            new FeedbackStore(blobs, new InMemoryTableStore(), clock)
        );
        var options = MonitoringOptions.Parse(JsonDocument.Parse(optionsJson).RootElement);
        return await runner.RunAsync(
            "mdl",
            "run-1",
            reference,
            1,
            T0,
            T0.AddDays(1),
            clock.UtcNow,
            options,
            servedModel: model
        );
    }

    private static Dictionary<string, object?> Row(DataTable t, int i) =>
        new()
        {
            ["x0"] = t["x0"].Numbers![i],
            ["x1"] = t["x1"].Numbers![i],
            ["color"] = t["color"].Strings![i],
        };

    [Fact]
    public void Build_ExplainableModel_AttributionOverHeldOutRowsRoundTrips()
    {
        var (_, reference) = Trained(new Random(31), TrainerKind.Gbdt);
        var back = ReferenceProfile.FromJson(reference.ToJson());
        var a = back.Attribution!;
        Assert.Equal("treeshap", a.Method);
        Assert.Equal(1000, a.Rows);
        Assert.Equal(1.0, a.Columns.Sum(c => c.Share), 9);
        // y depends on x0 and x1 only: they carry almost all attribution, color almost none.
        Assert.Equal(["x0", "x1"], a.Columns.Take(2).Select(c => c.Column).Order());
        Assert.True(a.Columns.Single(c => c.Column == "color").Share < 0.05);
        var again = AttributionSummary.FromJson(a.ToJson());
        Assert.Equal(a.Columns, again.Columns);
        Assert.Equal(
            "bad_importance",
            Assert.Throws<MlException>(() => AttributionSummary.FromJson("{\"rows\": 3")).Code
        );
    }

    [Theory]
    [InlineData(TrainerKind.Gbdt)]
    [InlineData(TrainerKind.Linear)]
    public async Task RunAsync_InputStuckAtOneValue_AttributionDriftBreachNamesItAndPolicyRetrains(TrainerKind trainer)
    {
        var rng = new Random(32);
        var (model, reference) = Trained(rng, trainer);
        // A broken feed: x1 arrives as 0 (its mean) on every row, so it stops explaining anything.
        var served = MonitorRunTests.Table(rng, 1500);
        var stuck = new DataTable(
            served.Columns.Select(c => c.Name == "x1" ? Column.Numeric("x1", new double[served.RowCount]) : c).ToList()
        );
        var report = await RunAsync(
            model,
            reference,
            stuck,
            """{"retrain":{"when":[{"signal":"attribution_drift","share":0.2}]}}"""
        );

        var drift = report.AttributionDrift!;
        Assert.Equal("breach", drift.Status);
        Assert.Equal(WindowAccumulator.AttributionRows, drift.WindowRows);
        Assert.Equal("x1", drift.Columns[0].Column);
        Assert.True(drift.Columns[0].Change < -0.2, $"x1 share change {drift.Columns[0].Change}");
        var verdict = report.Verdicts.Single(v => v.Signal == "attribution_drift");
        Assert.Equal("breach", verdict.Status);
        Assert.Contains("x1", verdict.Message);

        var options = MonitoringOptions.Parse(
            JsonDocument.Parse("""{"retrain":{"when":[{"signal":"attribution_drift","share":0.2}]}}""").RootElement
        );
        var signals = new MonitorSignals(
            T0,
            new Dictionary<string, double>(),
            true,
            reference.Metrics,
            null,
            0,
            drift.MaxShift
        );
        var decision = RetrainPolicy.Decide(options.Retrain, signals, new([], null));
        Assert.True(decision.Retrain);
        Assert.Contains("attribution drift", decision.Reason);

        // The report (with its new section) still round-trips through the store's JSON and renders.
        var blobs = new InMemoryBlobStore();
        await new MonitoringStore(blobs, new InMemoryTableStore()).SaveReportAsync(report);
        var html = System.Text.Encoding.UTF8.GetString(
            (await blobs.ReadAsync("monitoring", "mdl/run-1/report.html"))!.Data
        );
        Assert.Contains("Attribution drift", html);
    }

    [Fact]
    public async Task RunAsync_TrafficLikeTraining_AttributionDriftOk()
    {
        var rng = new Random(33);
        var (model, reference) = Trained(rng, TrainerKind.Gbdt);
        var report = await RunAsync(model, reference, MonitorRunTests.Table(rng, 1500), "{}");
        var drift = report.AttributionDrift!;
        Assert.Equal("ok", drift.Status);
        Assert.True(drift.MaxShift < 0.05, $"shift {drift.MaxShift}");
        Assert.Equal(AttributionAnalysis.DefaultShift, drift.Threshold);
    }

    [Fact]
    public async Task RunAsync_WithoutModel_NoAttributionSectionNorVerdict()
    {
        var rng = new Random(34);
        var (model, reference) = Trained(rng, TrainerKind.Linear);
        var served = MonitorRunTests.Table(rng, 300);
        var blobs = new InMemoryBlobStore();
        var predictions = model.PredictBatch(served);
        await AppendAsync(
            blobs,
            T0.AddHours(1),
            Enumerable
                .Range(0, 300)
                .Select(i => Line(T0.AddHours(1), 1, [Row(served, i)], [predictions.Values[i]], null))
                .ToArray()
        );
        var clock = new FixedClock(T0.AddHours(26));
        var runner = new MonitorRunner(
            new PredictionLogReader(blobs),
            new FeedbackStore(blobs, new InMemoryTableStore(), clock)
        );
        var report = await runner.RunAsync(
            "mdl",
            "run-1",
            reference,
            1,
            T0,
            T0.AddDays(1),
            clock.UtcNow,
            MonitoringOptions.Parse(null)
        );
        Assert.Null(report.AttributionDrift);
        Assert.DoesNotContain(report.Verdicts, v => v.Signal == "attribution_drift");
    }

    [Fact]
    public void RowSample_SplitAndMergedInAnyOrder_SameRowsAsOneReader()
    {
        var keys = Enumerable
            .Range(0, 5000)
            .Select(i => (Key: RowSample.Key(RowSample.Hash(BitConverter.GetBytes(i / 3)), i % 3), Row: $"row{i}"))
            .ToList();
        var whole = new RowSample(100);
        foreach (var (k, r) in keys)
            whole.Offer(k, r);
        var parts = Enumerable.Range(0, 4).Select(_ => new RowSample(100)).ToArray();
        for (int i = 0; i < keys.Count; i++)
            parts[(i * 7) % 4].Offer(keys[i].Key, keys[i].Row);
        var merged = new RowSample(100);
        foreach (var p in parts.Reverse())
            merged.Merge(p);
        Assert.Equal(whole.Rows(), merged.Rows());
        Assert.Equal(100, merged.Rows().Count);
        // Spread over the input, not its first rows.
        Assert.True(merged.Rows().Select(r => int.Parse(r[3..])).Max() > 2500);
    }

    [Theory]
    [InlineData("""{"retrain": {"when": [{"signal": "attribution_drift"}]}}""", "monitoring.retrain.when[0].share")]
    [InlineData(
        """{"retrain": {"when": [{"signal": "attribution_drift", "share": 1.5}]}}""",
        "monitoring.retrain.when[0].share"
    )]
    [InlineData(
        """{"retrain": {"when": [{"signal": "attribution_drift", "share": 0.2, "metric": "auc"}]}}""",
        "monitoring.retrain.when[0].metric"
    )]
    public void Parse_BadAttributionCondition_MessageNamesTheKey(string json, string key)
    {
        var e = Assert.Throws<MonitoringException>(() => MonitoringOptions.Parse(JsonDocument.Parse(json).RootElement));
        Assert.Equal("monitoring.config", e.Code);
        Assert.StartsWith(key + " ", e.Message);
    }

    [Fact]
    public void Decide_AttributionNotMeasured_ConditionDoesNotHold()
    {
        var options = MonitoringOptions.Parse(
            JsonDocument.Parse("""{"retrain":{"when":[{"signal":"attribution_drift","share":0.1}]}}""").RootElement
        );
        var decision = RetrainPolicy.Decide(
            options.Retrain,
            new MonitorSignals(T0, new Dictionary<string, double>(), true, new Dictionary<string, double>(), null, 0),
            new([], null)
        );
        Assert.False(decision.Retrain);
        Assert.Contains("not measured", decision.Conditions.Single().Message);
    }
}
