using System.Text;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Training;
using Mlops.Registry;
using Mlops.Storage.Azure;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary>The real path: a GBDT trained by Mlops.ML, registered, promoted and served through the ML
/// adapter.</summary>
public sealed class GbdtServingTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    internal static string DataPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "data", name + ".csv");
    }

    [Fact]
    public async Task Predict_BreastCancerGbdt_SingleRowAndBatchMatchLibrary()
    {
        var data = CsvTableReader.ReadFile(DataPath("sk_breast_cancer"));
        var trained = ModelTrainer.Train(
            data,
            new TrainingSpec("target", MlTask.Binary)
            {
                Options = new Dictionary<string, object> { ["num_rounds"] = 30 },
            }
        );
        var s = AzureStorageAccount.Connect(fixture.Azurite.ConnectionString);
        var registry = new ModelRegistry(s.Blobs, s.Tables);
        string model = "bc-" + Guid.NewGuid().ToString("N")[..8];
        var v = await registry.RegisterAsync(
            new RegisterModelRequest(model, Encoding.UTF8.GetBytes(trained.Model.ToJson()), IdempotencyKey: "run-1")
        );
        await registry.PromoteAsync(model, v.Version);

        var features = data.Columns.Where(c => c.Name != "target").ToList();
        var rows = Enumerable
            .Range(0, 100)
            .Select(r => features.ToDictionary(c => c.Name, c => (object)c.Numbers![r]))
            .ToArray();
        var (status, body) = await fixture.Host.PredictAsync(model, new { rows = rows.Take(1).ToArray() });
        Assert.Equal(200, status);
        Assert.Equal(v.Version, body.GetProperty("version").GetInt32());
        var (batchStatus, batch) = await fixture.Host.PredictAsync(model, new { rows });
        Assert.Equal(200, batchStatus);
        var predictions = batch.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(100, predictions.Count);

        var expected = trained.Model.PredictBatch(data.SelectRows(Enumerable.Range(0, 100).ToArray()));
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(expected.Labels![i], predictions[i].GetProperty("label").GetString());
            var probs = predictions[i].GetProperty("probabilities");
            Assert.Equal(expected.Probability(i, 1), probs.GetProperty(trained.Model.Classes[1]).GetDouble(), 12);
        }
        Assert.Equal(predictions[0].GetRawText(), batch.GetProperty("predictions")[0].GetRawText());
        Assert.Equal(body.GetProperty("predictions")[0].GetRawText(), predictions[0].GetRawText());

        var (bad, err) = await fixture.Host.PredictAsync(
            model,
            new { rows = new[] { new Dictionary<string, object> { ["mean radius"] = "big" } } }
        );
        Assert.Equal(400, bad);
        Assert.Contains("mean radius", err.GetProperty("error").GetProperty("message").GetString());
    }
}
