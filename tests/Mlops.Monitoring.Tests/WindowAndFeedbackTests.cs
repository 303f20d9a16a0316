using System.Text;
using Mlops.Core;
using Mlops.Monitoring.Analysis;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Window;
using Mlops.Storage.InMemory;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

public class WindowAndFeedbackTests
{
    private static Dictionary<string, object?> Row(double x0, double x1, object? color) =>
        new()
        {
            ["x0"] = x0,
            ["x1"] = x1,
            ["color"] = color,
        };

    [Fact]
    public async Task ReadAsync_ReadsOnlyTheWindowAndSkipsShadowLines()
    {
        var blobs = new InMemoryBlobStore();
        var reference = BinaryReference(5000);
        var inside = T0.AddHours(2).AddMinutes(5);
        await AppendAsync(
            blobs,
            inside,
            Line(inside, 3, [Row(0.1, 0.2, "red"), Row(0.3, 0.4, "blue")], [0.9, 0.2], ["id-a", "id-b"]),
            Line(inside, 4, [Row(9, 9, "red")], [0.5], ["id-s"], shadow: true),
            "{not json"
        );
        var before = T0.AddHours(1).AddMinutes(59);
        await AppendAsync(blobs, before, Line(before, 3, [Row(5, 5, "red")], [0.1], ["id-old"]));
        var after = T0.AddHours(4);
        await AppendAsync(blobs, after, Line(after, 3, [Row(5, 5, "red")], [0.1], ["id-late"]));

        var window = await new PredictionLogReader(blobs).ReadAsync(
            "mdl",
            reference,
            T0.AddHours(2),
            T0.AddHours(4),
            labeledIds: new HashSet<string> { "id-b", "id-old" }
        );

        Assert.Equal(2, window.Rows);
        Assert.Equal(1, window.Lines);
        Assert.Equal(1, window.MalformedLines);
        Assert.Equal(2, window.Versions[3]);
        Assert.Equal([0.1, 0.3], window.Columns[0].Sorted!);
        Assert.Equal(1, window.Columns[2].Counts!["blue"]);
        Assert.Equal([0.2, 0.9], window.Score.Sorted!);
        var joined = Assert.Single(window.Labeled);
        Assert.Equal(("id-b", 0.2, "0"), (joined.Id, joined.Score, joined.PredictedLabel));
        Assert.Equal([0.8, 0.2], joined.Probabilities!);
        Assert.Equal("""{"x0":0.3,"x1":0.4,"color":"blue"}""", joined.InputsJson);
    }

    [Fact]
    public async Task ReadAsync_QualityCountsTypeErrorsMissingUnseenAndOutOfRange()
    {
        var blobs = new InMemoryBlobStore();
        var reference = BinaryReference(5000);
        var at = T0.AddMinutes(1);
        var rows = new List<Dictionary<string, object?>>();
        for (int i = 0; i < 100; i++)
        {
            var row = Row(i < 10 ? 100 : 0.5, 0.1, i < 20 ? "purple" : "red");
            if (i < 30)
                row["x1"] = i < 15 ? null : "abc";
            if (i == 0)
                row["extra"] = 1;
            rows.Add(row);
        }
        await AppendAsync(blobs, at, Line(at, 1, rows, Enumerable.Repeat(0.5, 100).ToList()));
        var window = await new PredictionLogReader(blobs).ReadAsync("mdl", reference, T0, T0.AddHours(1));
        var quality = QualityAnalysis.Compute(window, new QualityThresholds());

        var x0 = quality.Features.Single(f => f.Column == "x0");
        var x1 = quality.Features.Single(f => f.Column == "x1");
        var color = quality.Features.Single(f => f.Column == "color");
        Assert.Equal(0.10, x0.OutOfRangeRate, 9);
        Assert.Equal(0.15, x1.MissingRate, 9);
        Assert.Equal(0.15, x1.TypeErrorRate, 9);
        Assert.Equal(0.20, color.UnseenCategoryRate!.Value, 9);
        Assert.Equal(["purple"], color.UnseenExamples);
        Assert.True(x0.Breached && x1.Breached && color.Breached);
        Assert.Equal(1, quality.UnknownColumns["extra"]);
    }

    [Fact]
    public void HourPrefixes_CoverPartialHoursOnly()
    {
        var prefixes = PredictionLogReader.HourPrefixes("mdl", T0.AddMinutes(30), T0.AddHours(2)).ToList();
        Assert.Equal(["mdl/2026/11/30/00/", "mdl/2026/11/30/01/"], prefixes);
    }

    [Fact]
    public async Task IngestJson_CountsDuplicatesUnknownAndInvalid_LatestWins()
    {
        var clock = new FixedClock(T0.AddDays(40));
        var store = new FeedbackStore(new InMemoryBlobStore(), new InMemoryTableStore(), clock);
        string recent = PredictionIds.New(T0.AddDays(39)),
            old = PredictionIds.New(T0);
        var body = $$"""
            {"labels":[{"predictionId":"{{recent}}","label":0},{"predictionId":"client-7","label":"1"},{"predictionId":"{{recent}}","label":1},
                       {"predictionId":"{{old}}","label":1},{"label":1},{"predictionId":"x"}]}
            """;
        var receipt = await store.IngestJsonAsync("mdl", Encoding.UTF8.GetBytes(body), TimeSpan.FromDays(30));
        Assert.Equal(
            (6, 2, 1, 1, 2),
            (receipt.Received, receipt.Accepted, receipt.Duplicates, receipt.Unknown, receipt.Invalid)
        );
        Assert.Contains(receipt.Problems, p => p.Contains(old) && p.Contains("lookback"));

        var labels = await store.ReadLabelsAsync("mdl", T0.AddDays(39), clock.UtcNow.AddMinutes(1));
        Assert.Equal("1", labels[recent]);
        Assert.Equal("1", labels["client-7"]);
        Assert.Equal(2, await store.CountLabelsSinceAsync("mdl", T0.AddDays(39)));
        Assert.Equal(0, await store.CountLabelsSinceAsync("mdl", clock.UtcNow.AddSeconds(1)));
    }

    [Fact]
    public async Task IngestCsv_LaterBatchOverridesEarlierLabel()
    {
        var clock = new FixedClock(T0);
        var store = new FeedbackStore(new InMemoryBlobStore(), new InMemoryTableStore(), clock);
        await store.IngestCsvAsync(
            "mdl",
            new MemoryStream("predictionId,label\na,0\nb,1\n"u8.ToArray()),
            TimeSpan.FromDays(30)
        );
        clock.UtcNow = T0.AddHours(1);
        await store.IngestCsvAsync(
            "mdl",
            new MemoryStream("label,predictionId\n1,a\n"u8.ToArray()),
            TimeSpan.FromDays(30)
        );
        var labels = await store.ReadLabelsAsync("mdl", T0, T0.AddHours(2));
        Assert.Equal("1", labels["a"]);
        Assert.Equal("1", labels["b"]);
        var onlyFirst = await store.ReadLabelsAsync("mdl", T0, T0.AddMinutes(30));
        Assert.Equal("0", onlyFirst["a"]);
    }

    [Theory]
    [InlineData("not json", "monitoring.feedback", 400)]
    [InlineData("""{"rows":[]}""", "monitoring.feedback", 400)]
    [InlineData("""{"labels":[]}""", "monitoring.feedback", 400)]
    public async Task IngestJson_BadBody_TypedError(string body, string code, int status)
    {
        var store = new FeedbackStore(new InMemoryBlobStore(), new InMemoryTableStore(), new FixedClock(T0));
        var e = await Assert.ThrowsAsync<MonitoringException>(() =>
            store.IngestJsonAsync("mdl", Encoding.UTF8.GetBytes(body), TimeSpan.FromDays(30))
        );
        Assert.Equal((code, status), (e.Code, e.Status));
    }

    [Fact]
    public async Task IngestJson_OverTenThousand_413()
    {
        var store = new FeedbackStore(new InMemoryBlobStore(), new InMemoryTableStore(), new FixedClock(T0));
        var body =
            "{\"labels\":["
            + string.Join(
                ",",
                Enumerable
                    .Range(0, FeedbackStore.MaxBatch + 1)
                    .Select(i => $"{{\"predictionId\":\"p{i}\",\"label\":1}}")
            )
            + "]}";
        var e = await Assert.ThrowsAsync<MonitoringException>(() =>
            store.IngestJsonAsync("mdl", Encoding.UTF8.GetBytes(body), TimeSpan.FromDays(30))
        );
        Assert.Equal(413, e.Status);
    }

    [Fact]
    public async Task IngestCsv_MissingColumn_TypedError()
    {
        var store = new FeedbackStore(new InMemoryBlobStore(), new InMemoryTableStore(), new FixedClock(T0));
        var e = await Assert.ThrowsAsync<MonitoringException>(() =>
            store.IngestCsvAsync("mdl", new MemoryStream("id,label\na,1\n"u8.ToArray()), TimeSpan.FromDays(30))
        );
        Assert.Contains("predictionId", e.Message);
    }

    [Fact]
    public void PredictionIds_RoundTripTime()
    {
        var at = T0.AddMilliseconds(123);
        var id = PredictionIds.New(at);
        Assert.Equal(PredictionIds.Length, id.Length);
        Assert.True(PredictionIds.TryGetTime(id, out var decoded));
        Assert.Equal(at, decoded);
        Assert.False(PredictionIds.TryGetTime("client-id", out _));
        Assert.NotEqual(id, PredictionIds.New(at));
    }

    [Fact]
    public void FeedbackTrainingSet_ToCsv_InputsPlusLabelEscaped()
    {
        var reference = BinaryReference(100);
        var rows = new List<LabeledPrediction>
        {
            new("a", 0.9, "1", null, """{"x0":1.5,"color":"dark, red","x1":null}"""),
            new("b", 0.1, "0", null, """{"x1":2,"x0":-1}"""),
        };
        var csv = Encoding.UTF8.GetString(
            FeedbackTrainingSet.ToCsv(reference, rows, new Dictionary<string, string> { ["a"] = "1", ["b"] = "0" })
        );
        Assert.Equal("x0,x1,color,y\n1.5,,\"dark, red\",1\n-1,2,,0\n", csv);
    }
}
