using System.Text;
using System.Text.Json;
using Mlops.Core;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Training;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Reports;
using Mlops.Monitoring.Window;
using Mlops.Storage.InMemory;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

public class MonitorRunTests
{
    // y = 1 when x0 + x1 + noise > 0; "color" carries no signal.
    internal static DataTable Table(Random rng, int n, double shift = 0)
    {
        var x0 = Normal(rng, n, mean: shift);
        var x1 = Normal(rng, n);
        var noise = Normal(rng, n, sd: 0.5);
        string[] palette = ["red", "green", "blue"];
        var color = Enumerable.Range(0, n).Select(_ => (string?)palette[rng.Next(3)]).ToArray();
        var y = Enumerable.Range(0, n).Select(i => x0[i] + x1[i] + noise[i] > 0 ? 1.0 : 0.0).ToArray();
        return new DataTable([
            Column.Numeric("x0", x0),
            Column.Numeric("x1", x1),
            Column.Categorical("color", color),
            Column.Numeric("y", y),
        ]);
    }

    private static ML.Models.Model Train(DataTable train, DataTable test)
    {
        var model = ModelTrainer
            .Train(train, new TrainingSpec("y", MlTask.Binary) { Trainer = TrainerKind.Linear })
            .Model;
        return model.WithMetrics(Evaluator.Evaluate(model, test).Metrics);
    }

    /// <summary>A model trained on 20,000 rows, evaluated on 4,000, with its reference profile.</summary>
    private static (ML.Models.Model Model, ReferenceProfile Reference) Trained(Random rng)
    {
        var train = Table(rng, 20_000);
        var model = Train(train, Table(rng, 4000));
        return (model, ReferenceProfile.Build(train, model, now: T0));
    }

    private static Dictionary<string, object?> Row(DataTable t, int i) =>
        new()
        {
            ["x0"] = t["x0"].Numbers![i],
            ["x1"] = t["x1"].Numbers![i],
            ["color"] = t["color"].Strings![i],
        };

    [Fact]
    public void Build_TrainedModel_SmallJsonThatRoundTrips()
    {
        var rng = new Random(21);
        var train = Table(rng, 20_000);
        var model = Train(train, Table(rng, 2000));
        var profile = ReferenceProfile.Build(train, model, now: T0);
        var json = profile.ToJson();
        var back = ReferenceProfile.FromJson(json);

        Assert.True(json.Length < 200_000, $"{json.Length} bytes");
        Assert.Equal(["x0", "x1", "color"], back.Features.Select(f => f.Name));
        Assert.Equal(ReferenceProfile.MaxSampleSize, back.Features[0].Sample!.Length);
        Assert.Equal(3, back.Features[2].Counts!.Count);
        Assert.NotNull(back.Calibration);
        Assert.True(back.Metrics["auc"] > 0.9);
        Assert.Equal(20_000, back.Score.Rows);
    }

    [Fact]
    public void Build_MissingColumn_TypedError()
    {
        var rng = new Random(22);
        var train = Table(rng, 500);
        var model = Train(train, train);
        var e = Assert.Throws<MonitoringException>(() => ReferenceProfile.Build(train.Without("x1"), model));
        Assert.Contains("x1", e.Message);
    }

    [Fact]
    public async Task RunAsync_ShiftedTrafficAndWrongLabels_ReportsDriftAndDropAndWritesReports()
    {
        var rng = new Random(23);
        var (model, reference) = Trained(rng);
        var blobs = new InMemoryBlobStore();
        var tables = new InMemoryTableStore();
        var clock = new FixedClock(T0.AddHours(26));

        // Production: x0 shifted by 1.5 standard deviations; labels that disagree with the model 40% of the time.
        var served = Table(rng, 3000, shift: 1.5);
        var predictions = model.PredictBatch(served);
        var labels = new StringBuilder("predictionId,label\n");
        var lines = new List<string>();
        for (int i = 0; i < served.RowCount; i++)
        {
            var at = T0.AddHours(1).AddSeconds(i);
            string id = PredictionIds.New(at);
            lines.Add(Line(at, 1, [Row(served, i)], [predictions.Values[i]], [id]));
            bool truth = served["y"].Numbers![i] == 1;
            labels.Append(id).Append(',').Append((rng.NextDouble() < 0.4 ? !truth : truth) ? "1" : "0").Append('\n');
        }
        await AppendAsync(blobs, T0.AddHours(1), lines.ToArray());
        var feedback = new FeedbackStore(blobs, tables, clock);
        clock.UtcNow = T0.AddHours(25);
        await feedback.IngestCsvAsync(
            "mdl",
            new MemoryStream(Encoding.UTF8.GetBytes(labels.ToString())),
            TimeSpan.FromDays(30)
        );
        clock.UtcNow = T0.AddHours(26);

        var options = MonitoringOptions.Parse(
            JsonDocument
                .Parse("""{"retrain":{"when":[{"signal":"performance","metric":"auc","drop":0.02}]}}""")
                .RootElement
        );
        var runner = new MonitorRunner(new PredictionLogReader(blobs), feedback);
        var report = await runner.RunAsync("mdl", "run-1", reference, 1, T0, T0.AddDays(1), clock.UtcNow, options);

        Assert.Equal(3000, report.Window.Rows);
        Assert.Contains(report.DataDrift.Features, f => f.Column == "x0" && f.Drifted);
        Assert.DoesNotContain(report.DataDrift.Features, f => f.Column == "x1" && f.Drifted);
        Assert.Equal(3000, report.Feedback.Joined);
        Assert.True(report.Performance.Sufficient);
        Assert.True(report.Performance.Metrics["auc"] < reference.Metrics["auc"] - 0.1);
        Assert.Equal("breach", report.Verdicts.Single(v => v.Signal == "performance").Status);
        Assert.Equal("breach", report.Verdicts.Single(v => v.Signal == "prediction_drift").Status);
        // Covariate shift without concept shift: CBPE expects the model to stay about as accurate as at training.
        Assert.InRange(report.EstimatedPerformance!.Metrics["accuracy"], reference.Metrics["accuracy"] - 0.05, 1);

        var store = new MonitoringStore(blobs, tables);
        var decision = RetrainPolicy.Decide(
            options.Retrain,
            new MonitorSignals(
                clock.UtcNow,
                report.Performance.Metrics,
                false,
                reference.Metrics,
                report.DataDrift.Share,
                3000
            ),
            new([], null)
        );
        await store.SaveReportAsync(report with { Decision = decision });
        var html = Encoding.UTF8.GetString((await blobs.ReadAsync("monitoring", "mdl/run-1/report.html"))!.Data);
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("http://cdn", html);
        Assert.DoesNotContain("<script", html);
        var listed = Assert.Single(await store.ListRunsAsync("mdl"));
        Assert.Equal("breach", listed.Verdicts["performance"]);
        Assert.True(listed.Retrain);
        var back = await store.ReadReportAsync("mdl", "run-1");
        Assert.Equal(report.DataDrift.Drifted, back!.DataDrift.Drifted);
    }

    [Fact]
    public async Task RunAsync_SameDistributionFewLabels_NoDriftInsufficientLabels()
    {
        var rng = new Random(24);
        var (model, reference) = Trained(rng);
        var blobs = new InMemoryBlobStore();
        var served = Table(rng, 2000);
        var predictions = model.PredictBatch(served);
        var lines = Enumerable
            .Range(0, served.RowCount)
            .Select(i => Line(T0.AddSeconds(i), 1, [Row(served, i)], [predictions.Values[i]], [$"c{i}"]))
            .ToArray();
        await AppendAsync(blobs, T0, lines);
        var feedback = new FeedbackStore(blobs, new InMemoryTableStore(), new FixedClock(T0.AddHours(2)));
        await feedback.IngestJsonAsync(
            "mdl",
            Encoding.UTF8.GetBytes("""{"labels":[{"predictionId":"c1","label":1},{"predictionId":"c2","label":0}]}"""),
            TimeSpan.FromDays(30)
        );

        var report = await new MonitorRunner(new PredictionLogReader(blobs), feedback).RunAsync(
            "mdl",
            "run-2",
            reference,
            1,
            T0,
            T0.AddHours(1),
            T0.AddHours(3),
            new MonitoringOptions()
        );

        Assert.Equal(0, report.DataDrift.Drifted);
        Assert.Equal("ok", report.Verdicts.Single(v => v.Signal == "data_drift").Status);
        Assert.Equal("insufficient_labels", report.Performance.Status);
        Assert.Equal(2, report.Performance.Labels);
        Assert.Equal("insufficient_data", report.Verdicts.Single(v => v.Signal == "performance").Status);
        Assert.Equal("ok", report.Verdicts.Single(v => v.Signal == "data_quality").Status);
    }

    // Writes `served` as log lines with regression or multiclass outputs, ids "r{i}".
    private static async Task<InMemoryBlobStore> LogAsync(DataTable served, ML.Models.PredictionBatch predictions)
    {
        var blobs = new InMemoryBlobStore();
        var lines = new List<string>();
        for (int i = 0; i < served.RowCount; i++)
        {
            object output = predictions.Labels is null
                ? new { value = predictions.Values[i] }
                : new
                {
                    label = predictions.Labels[i],
                    probabilities = predictions
                        .Classes.Select((c, k) => (c, k))
                        .ToDictionary(t => t.c, t => predictions.Probability(i, t.k)),
                };
            lines.Add(
                JsonSerializer.Serialize(
                    new
                    {
                        at = T0.AddSeconds(i),
                        model = "mdl",
                        version = 1,
                        shadow = false,
                        ids = new[] { $"r{i}" },
                        inputs = new[] { Row(served, i) },
                        outputs = new[] { output },
                    }
                )
            );
        }
        await AppendAsync(blobs, T0, lines.ToArray());
        return blobs;
    }

    [Fact]
    public async Task RunAsync_Regression_RealizedRmseNoCbpe()
    {
        var rng = new Random(25);
        var train = Table(rng, 5000);
        var target = train["x0"].Numbers!.Select((v, i) => 3 * v - train["x1"].Numbers![i]).ToArray();
        train = new DataTable([.. train.Columns.Where(c => c.Name != "y"), Column.Numeric("y", target)]);
        var model = ModelTrainer
            .Train(train, new TrainingSpec("y", MlTask.Regression) { Trainer = TrainerKind.Linear })
            .Model;
        var reference = ReferenceProfile.Build(train, model, now: T0);
        var served = Table(rng, 300);
        var predictions = model.PredictBatch(served);
        var blobs = await LogAsync(served, predictions);
        // Labels 1.0 above the truth: a realized RMSE of about 1.
        var labels = Enumerable
            .Range(0, 300)
            .ToDictionary(
                i => $"r{i}",
                i =>
                    (3 * served["x0"].Numbers![i] - served["x1"].Numbers![i] + 1).ToString(
                        "R",
                        System.Globalization.CultureInfo.InvariantCulture
                    )
            );
        var window = await new PredictionLogReader(blobs).ReadAsync(
            "mdl",
            reference,
            T0,
            T0.AddHours(1),
            labeledIds: labels.Keys.ToHashSet()
        );
        var report = MonitorRunner.Compute(
            "mdl",
            "r",
            reference,
            1,
            window,
            labels,
            T0.AddHours(1),
            new MonitoringOptions()
        );

        Assert.Null(report.EstimatedPerformance);
        Assert.Null(reference.Calibration);
        Assert.Equal("ok", report.Performance.Status);
        Assert.InRange(report.Performance.Metrics["rmse"], 0.95, 1.05);
        Assert.DoesNotContain(report.Verdicts, v => v.Signal == "estimated_performance");
    }

    [Fact]
    public async Task RunAsync_Multiclass_CbpeAccuracyNearRealized()
    {
        var rng = new Random(26);
        DataTable ThreeClasses(int n)
        {
            var t = Table(rng, n);
            var noise = Normal(rng, n, sd: 0.7);
            var y = t["x0"]
                .Numbers!.Select(
                    (v, i) =>
                        v + noise[i] < -0.5 ? "low"
                        : v + noise[i] < 0.5 ? "mid"
                        : "high"
                )
                .ToArray();
            return new DataTable([.. t.Columns.Where(c => c.Name != "y"), Column.Categorical("y", y)]);
        }
        var train = ThreeClasses(20_000);
        var holdout = ThreeClasses(5000);
        var model = ModelTrainer
            .Train(train, new TrainingSpec("y", MlTask.Multiclass) { Trainer = TrainerKind.Linear })
            .Model;
        var reference = ReferenceProfile.Build(train, model, calibration: holdout, now: T0);
        var served = ThreeClasses(3000);
        var predictions = model.PredictBatch(served);
        var blobs = await LogAsync(served, predictions);
        var labels = Enumerable.Range(0, 3000).ToDictionary(i => $"r{i}", i => served["y"].Strings![i]!);
        var window = await new PredictionLogReader(blobs).ReadAsync(
            "mdl",
            reference,
            T0,
            T0.AddHours(1),
            labeledIds: labels.Keys.ToHashSet()
        );
        var report = MonitorRunner.Compute(
            "mdl",
            "r",
            reference,
            1,
            window,
            labels,
            T0.AddHours(1),
            new MonitoringOptions()
        );

        double realized = report.Performance.Metrics["accuracy"];
        // Tolerance: 3,000 rows give the realized accuracy a standard error of about 0.009.
        Assert.InRange(report.EstimatedPerformance!.Metrics["accuracy"], realized - 0.03, realized + 0.03);
        Assert.Equal(3000, report.Performance.Labels);
    }
}
