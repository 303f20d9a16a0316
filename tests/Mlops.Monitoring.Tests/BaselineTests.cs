using System.Text;
using System.Text.Json;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Reports;
using Mlops.Monitoring.Window;
using Mlops.Storage.InMemory;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

public class BaselineTests
{
    // The monitoring tests' data: y = 1 when x0 + x1 + noise > 0; "color" carries no signal.
    private static DataTable Table(Random rng, int n, double shift = 0) => MonitorRunTests.Table(rng, n, shift);

    private static MonitoringOptions Options(string baselineJson) =>
        MonitoringOptions.Parse(JsonDocument.Parse($$"""{"baseline": {{baselineJson}}}""").RootElement);

    /// <summary>Logs every row of <paramref name="served"/> with the model's score, one per second from <paramref
    /// name="start"/>.</summary>
    private static async Task LogAsync(IBlobStore blobs, Model model, DataTable served, DateTimeOffset start)
    {
        var scores = model.PredictBatch(served).Values;
        var lines = Enumerable
            .Range(0, served.RowCount)
            .Select(i =>
                Line(
                    start.AddSeconds(i),
                    1,
                    [
                        new Dictionary<string, object?>
                        {
                            ["x0"] = served["x0"].Numbers![i],
                            ["x1"] = served["x1"].Numbers![i],
                            ["color"] = served["color"].Strings![i],
                        },
                    ],
                    [scores[i]],
                    [$"{start.Ticks}-{i}"]
                )
            )
            .ToArray();
        await AppendAsync(blobs, start, lines);
    }

    private sealed class Setup
    {
        public required Model Model { get; init; }
        public required ReferenceProfile Reference { get; init; }
        public InMemoryBlobStore Blobs { get; } = new();
        public InMemoryTableStore Tables { get; } = new();

        public MonitorRunner Runner(IBaselineData? data = null) =>
            new(
                new PredictionLogReader(Blobs),
                new FeedbackStore(Blobs, Tables, new FixedClock(T0.AddDays(2))),
                new DatasetBaselines(new MonitoringStore(Blobs, Tables), data)
            );
    }

    private static Setup Trained(Random rng)
    {
        var train = Table(rng, 5000);
        var model = ModelTrainer
            .Train(train, new TrainingSpec("y", MlTask.Binary) { Trainer = TrainerKind.Linear })
            .Model;
        // Metrics as the register step records them (the held-out evaluation): a pinned dataset's profile must not
        // replace them.
        var reference = ReferenceProfile.Build(train, model, now: T0) with
        {
            Metrics = new Dictionary<string, double> { ["accuracy"] = 0.93, ["auc"] = 0.97 },
        };
        return new Setup { Model = model, Reference = reference };
    }

    /// <summary>One dataset version held in memory; counts loads so reuse of the stored profile is visible.</summary>
    private sealed class OneDataset(string hash, DataTable table, Model model) : IBaselineData
    {
        public int Loads { get; private set; }

        public Task<string> ResolveDatasetHashAsync(string m, string prefix, CancellationToken ct) =>
            hash.StartsWith(prefix, StringComparison.Ordinal)
                ? Task.FromResult(hash)
                : throw new MonitoringException("monitoring.baseline", $"'{prefix}' matches no version.", 404);

        public Task<DataTable> LoadDatasetAsync(string m, string h, CancellationToken ct)
        {
            Loads++;
            return Task.FromResult(table);
        }

        public Task<Model> LoadModelAsync(string m, int version, CancellationToken ct) => Task.FromResult(model);
    }

    [Fact]
    public async Task A_pinned_dataset_equal_to_the_window_shows_no_drift_where_the_training_baseline_does()
    {
        var rng = new Random(31);
        var s = Trained(rng);
        var shifted = Table(rng, 2000, shift: 1.5);
        await LogAsync(s.Blobs, s.Model, shifted, T0);
        string hash = new string('a', 8) + new string('0', 56);
        var data = new OneDataset(hash, shifted, s.Model);
        var runner = s.Runner(data);

        var serving = await runner.RunAsync(
            "mdl",
            "r-serving",
            s.Reference,
            1,
            T0,
            T0.AddHours(1),
            T0.AddHours(2),
            new MonitoringOptions()
        );
        var pinned = await runner.RunAsync(
            "mdl",
            "r-pinned",
            s.Reference,
            1,
            T0,
            T0.AddHours(1),
            T0.AddHours(2),
            Options("""{"dataset": "aaaaaaaa00"}""")
        );
        var again = await runner.RunAsync(
            "mdl",
            "r-again",
            s.Reference,
            1,
            T0,
            T0.AddHours(1),
            T0.AddHours(2),
            Options("""{"dataset": "aaaaaaaa00"}""")
        );

        Assert.Contains(serving.DataDrift.Features, f => f.Column == "x0" && f.Drifted);
        Assert.Equal("serving", serving.Baseline!.Kind);
        Assert.Equal(0, pinned.DataDrift.Drifted);
        // Every model input was tested against the pinned dataset (a set, not a count: a missing one must fail).
        Assert.Equal(
            ["color", "x0", "x1"],
            pinned
                .DataDrift.Features.Where(f => !f.InsufficientData)
                .Select(f => f.Column)
                .Order(StringComparer.Ordinal)
        );
        Assert.Equal(3, pinned.DataDrift.Tested);
        Assert.False(pinned.PredictionDrift.Breached);
        Assert.Equal("dataset", pinned.Baseline!.Kind);
        Assert.Equal(hash, pinned.Baseline.DatasetHash);
        Assert.Equal(2000, pinned.Baseline.Rows);
        // Computed once, stored by hash, then reused: the dataset was read a single time for two runs.
        Assert.Equal(1, data.Loads);
        Assert.NotNull(await s.Blobs.ReadAsync("models", MonitoringStore.DatasetBaselineBlobName("mdl", 1, hash)));
        Assert.Equal(
            pinned.DataDrift.Features.Select(f => f.Statistic),
            again.DataDrift.Features.Select(f => f.Statistic)
        );
        // The model's own numbers stay those of the serving version.
        Assert.Equal(0.93, pinned.Performance.ReferenceMetrics["accuracy"]);
    }

    [Fact]
    public async Task A_previous_window_that_differs_is_drift_and_one_that_does_not_is_not()
    {
        var rng = new Random(32);
        var s = Trained(rng);
        await LogAsync(s.Blobs, s.Model, Table(rng, 2000), T0); // [T0, T0+1h): like training
        await LogAsync(s.Blobs, s.Model, Table(rng, 2000), T0.AddHours(1)); // [T0+1h, T0+2h): like training
        await LogAsync(s.Blobs, s.Model, Table(rng, 2000, shift: 1.5), T0.AddHours(2)); // [T0+2h, T0+3h): x0 shifted
        var runner = s.Runner();
        var options = Options("\"previous-window\"");

        var steady = await runner.RunAsync(
            "mdl",
            "r-1",
            s.Reference,
            1,
            T0.AddHours(1),
            T0.AddHours(2),
            T0.AddDays(1),
            options
        );
        var shifted = await runner.RunAsync(
            "mdl",
            "r-2",
            s.Reference,
            1,
            T0.AddHours(2),
            T0.AddHours(3),
            T0.AddDays(1),
            options
        );

        Assert.Equal(0, steady.DataDrift.Drifted);
        Assert.Equal(
            ("previous-window", T0, T0.AddHours(1), 2000L),
            (steady.Baseline!.Kind, steady.Baseline.From, steady.Baseline.To, steady.Baseline.Rows)
        );
        Assert.Contains(shifted.DataDrift.Features, f => f.Column == "x0" && f.Drifted);
        Assert.DoesNotContain(shifted.DataDrift.Features, f => f.Column is "x1" or "color" && f.Drifted);
        Assert.Equal(T0.AddHours(1), shifted.Baseline!.From);

        await new MonitoringStore(s.Blobs, s.Tables).SaveReportAsync(shifted);
        var html = Encoding.UTF8.GetString((await s.Blobs.ReadAsync("monitoring", "mdl/r-2/report.html"))!.Data);
        Assert.Contains("baseline (previous-window)", html);
        var json = Encoding.UTF8.GetString((await s.Blobs.ReadAsync("monitoring", "mdl/r-2/report.json"))!.Data);
        Assert.Contains("\"previous-window\"", json);
    }

    [Fact]
    public async Task An_empty_previous_window_gives_no_drift_verdicts_rather_than_drift()
    {
        var rng = new Random(33);
        var s = Trained(rng);
        await LogAsync(s.Blobs, s.Model, Table(rng, 500, shift: 3), T0.AddHours(1));

        var report = await s.Runner()
            .RunAsync(
                "mdl",
                "r",
                s.Reference,
                1,
                T0.AddHours(1),
                T0.AddHours(2),
                T0.AddDays(1),
                Options("\"previous-window\"")
            );

        Assert.Equal(0, report.Baseline!.Rows);
        Assert.Equal(0, report.DataDrift.Tested);
        Assert.False(report.DataDrift.Breached);
    }

    [Fact]
    public async Task A_pinned_dataset_needs_a_host_that_can_read_datasets()
    {
        var s = Trained(new Random(34));
        var e = await Assert.ThrowsAsync<MonitoringException>(() =>
            s.Runner(data: null)
                .RunAsync(
                    "mdl",
                    "r",
                    s.Reference,
                    1,
                    T0,
                    T0.AddHours(1),
                    T0.AddHours(2),
                    Options("""{"dataset": "abcdef"}""")
                )
        );
        Assert.Equal("monitoring.baseline", e.Code);
    }

    [Theory]
    [InlineData("\"serving\"", BaselineKind.Serving, null)]
    [InlineData("\"previous-window\"", BaselineKind.PreviousWindow, null)]
    [InlineData("""{"dataset": "0123abcd"}""", BaselineKind.Dataset, "0123abcd")]
    public void Baseline_settings_parse(string json, BaselineKind kind, string? dataset)
    {
        var baseline = Options(json).Baseline;
        Assert.Equal(kind, baseline.Kind);
        Assert.Equal(dataset, baseline.Dataset);
    }

    [Theory]
    [InlineData("\"yesterday\"", "monitoring.baseline must be")]
    [InlineData("42", "monitoring.baseline must be")]
    [InlineData("""{"dataset": "xyz123"}""", "monitoring.baseline.dataset must be a dataset version hash")]
    [InlineData("""{"dataset": "abc"}""", "monitoring.baseline.dataset must be")]
    [InlineData("""{"datset": "abcdef"}""", "monitoring.baseline.datset is not a known setting")]
    [InlineData("{}", "monitoring.baseline.dataset is required")]
    public void Bad_baseline_settings_name_the_key(string json, string message)
    {
        var e = Assert.Throws<MonitoringException>(() => Options(json));
        Assert.Equal("monitoring.config", e.Code);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Defaults_keep_the_serving_baseline() =>
        Assert.Equal(BaselineKind.Serving, new MonitoringOptions().Baseline.Kind);
}
