using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Mlops.Registry;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary>
/// <c>"explain": true</c> / <c>?explain=true</c> on the predict path: per-row base and contributions that add up to the
/// served prediction, top-k with the rest summed, clear 4xx for bad options and models that cannot explain.
/// </summary>
public sealed class ExplainServingTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private static readonly Lazy<(DataTable Data, Model Model)> BreastCancer = new(() =>
    {
        var data = CsvTableReader.ReadFile(GbdtServingTests.DataPath("sk_breast_cancer"));
        var model = ModelTrainer
            .Train(
                data,
                new TrainingSpec("target", MlTask.Binary)
                {
                    Options = new Dictionary<string, object> { ["num_rounds"] = 30 },
                }
            )
            .Model;
        return (data, model);
    });

    private async Task<string> ServeAsync(Model model, string prefix, string? json = null)
    {
        var registry = fixture.NewRegistry();
        string name = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        var v = await registry.RegisterAsync(
            new RegisterModelRequest(name, Encoding.UTF8.GetBytes(json ?? model.ToJson()), IdempotencyKey: "run-1")
        );
        await registry.PromoteAsync(name, v.Version);
        return name;
    }

    private static Dictionary<string, object>[] Rows(DataTable data, int count, string target = "target") =>
        Enumerable
            .Range(0, count)
            .Select(r =>
                data.Columns.Where(c => c.Name != target).ToDictionary(c => c.Name, c => (object)c.Numbers![r])
            )
            .ToArray();

    private static double Logit(double p) => Math.Log(p / (1 - p));

    [Fact]
    public async Task Predict_ExplainQueryAndBody_ContributionsAddUpToServedProbabilityAndMatchLibrary()
    {
        var (data, model) = BreastCancer.Value;
        string name = await ServeAsync(model, "xbc");
        var library = ModelExplainer.For(model).ExplainBatch(data.SelectRows(Enumerable.Range(0, 20).ToArray()));

        // One row by query (the row path) and a 20-row batch by body (the batched prediction path).
        var (status, one) = await fixture.Host.PredictAsync(name, new { rows = Rows(data, 1) }, "?explain=true");
        Assert.Equal(200, status);
        var (batchStatus, batch) = await fixture.Host.PredictAsync(name, new { rows = Rows(data, 20), explain = true });
        Assert.Equal(200, batchStatus);
        Assert.Equal(one.GetProperty("predictions")[0].GetRawText(), batch.GetProperty("predictions")[0].GetRawText());

        var predictions = batch.GetProperty("predictions").EnumerateArray().ToList();
        for (int r = 0; r < predictions.Count; r++)
        {
            var e = predictions[r].GetProperty("explanation");
            double b = e.GetProperty("base").GetDouble();
            var contributions = e.GetProperty("contributions").EnumerateObject().ToList();
            Assert.Equal(model.InputSchema.Count(c => c.Used), contributions.Count);
            Assert.False(e.TryGetProperty("rest", out _));
            double sum = b + contributions.Sum(c => c.Value.GetDouble());
            double p = predictions[r].GetProperty("probabilities").GetProperty(model.Classes[1]).GetDouble();
            Assert.Equal(Logit(p), sum, 6);
            Assert.Equal(library[r].Base[0], b, 12);
            for (int j = 0; j < contributions.Count; j++)
            {
                Assert.Equal(library[r].Columns[j], contributions[j].Name);
                Assert.Equal(library[r].Contribution(0, j), contributions[j].Value.GetDouble(), 12);
            }
        }

        var (plainStatus, plain) = await fixture.Host.PredictAsync(name, new { rows = Rows(data, 1) });
        Assert.Equal(200, plainStatus);
        Assert.False(plain.GetProperty("predictions")[0].TryGetProperty("explanation", out _));
    }

    [Fact]
    public async Task Predict_ExplainTop_KeepsLargestAndSumsTheRest()
    {
        var (data, model) = BreastCancer.Value;
        string name = await ServeAsync(model, "xtop");
        var (status, body) = await fixture.Host.PredictAsync(name, new { rows = Rows(data, 3) }, "?explainTop=4");
        Assert.Equal(200, status);
        foreach (var prediction in body.GetProperty("predictions").EnumerateArray())
        {
            var e = prediction.GetProperty("explanation");
            var kept = e.GetProperty("contributions").EnumerateObject().Select(c => c.Value.GetDouble()).ToList();
            Assert.Equal(4, kept.Count);
            for (int i = 1; i < kept.Count; i++)
                Assert.True(Math.Abs(kept[i - 1]) >= Math.Abs(kept[i]), "largest |contribution| first");
            double rest = e.GetProperty("rest").GetDouble();
            double p = prediction.GetProperty("probabilities").GetProperty(model.Classes[1]).GetDouble();
            Assert.Equal(Logit(p), e.GetProperty("base").GetDouble() + kept.Sum() + rest, 6);
        }
    }

    [Fact]
    public async Task Predict_ExplainMulticlassLinear_BaseAndContributionsPerClass()
    {
        var data = CsvTableReader.ReadFile(GbdtServingTests.DataPath("sk_iris"));
        var model = ModelTrainer
            .Train(data, new TrainingSpec("target", MlTask.Multiclass) { Trainer = TrainerKind.Linear })
            .Model;
        string name = await ServeAsync(model, "xiris");
        var (status, body) = await fixture.Host.PredictAsync(
            name,
            new
            {
                rows = Rows(data, 2),
                explain = true,
                explainTop = 2,
            }
        );
        Assert.Equal(200, status);
        var prediction = body.GetProperty("predictions")[0];
        var e = prediction.GetProperty("explanation");
        var raws = model
            .Classes.Select(c =>
                e.GetProperty("base").GetProperty(c).GetDouble()
                + e.GetProperty("contributions").GetProperty(c).EnumerateObject().Sum(x => x.Value.GetDouble())
                + e.GetProperty("rest").GetProperty(c).GetDouble()
            )
            .ToArray();
        double max = raws.Max(),
            total = raws.Sum(v => Math.Exp(v - max));
        foreach (var (c, i) in model.Classes.Select((c, i) => (c, i)))
        {
            Assert.Equal(2, e.GetProperty("contributions").GetProperty(c).EnumerateObject().Count());
            Assert.Equal(
                prediction.GetProperty("probabilities").GetProperty(c).GetDouble(),
                Math.Exp(raws[i] - max) / total,
                9
            );
        }
    }

    [Theory]
    [InlineData("?explain=maybe", null)]
    [InlineData("?explainTop=0", null)]
    [InlineData("?explainTop=abc", null)]
    [InlineData(null, "\"yes\"")]
    public async Task Predict_BadExplainOption_400NamingIt(string? query, string? bodyExplain)
    {
        var (data, model) = BreastCancer.Value;
        string name = await ServeAsync(model, "xbad");
        var row = JsonSerializer.Serialize(Rows(data, 1));
        string body = bodyExplain is null ? $"{{\"rows\":{row}}}" : $"{{\"rows\":{row},\"explain\":{bodyExplain}}}";
        var (status, err) = await fixture.Host.PredictAsync(name, body, query);
        Assert.Equal(400, status);
        Assert.Equal("serving.invalid_explain", err.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("explain", err.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Predict_ExplainOnModelSavedWithoutCovers_422ButPlainPredictStillServes()
    {
        var (data, model) = BreastCancer.Value;
        var node = JsonNode.Parse(model.ToJson())!;
        foreach (var t in node["gbdt"]!["trees"]!.AsArray())
        {
            t!.AsObject().Remove("cover");
            t.AsObject().Remove("leafCover");
        }
        string name = await ServeAsync(model, "xold", node.ToJsonString());
        var (status, err) = await fixture.Host.PredictAsync(name, new { rows = Rows(data, 1), explain = true });
        Assert.Equal(422, status);
        Assert.Equal("serving.explain_unavailable", err.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("retrain", err.GetProperty("error").GetProperty("message").GetString());
        var (plain, _) = await fixture.Host.PredictAsync(name, new { rows = Rows(data, 1) });
        Assert.Equal(200, plain);
    }
}
