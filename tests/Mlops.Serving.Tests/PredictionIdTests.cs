using System.Text;
using System.Text.Json;
using Mlops.Core;
using Mlops.Registry;
using Mlops.Storage.Azure;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary>Prediction identity: ids in the response, the single-row header, client ids, and the log line.</summary>
public sealed class PredictionIdTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private ServingHost Host => fixture.Host;

    private async Task<string> ServedModelAsync()
    {
        string model = $"ids-{Guid.NewGuid():N}"[..18];
        var storage = AzureStorageAccount.Connect(fixture.Azurite.ConnectionString);
        var registry = new ModelRegistry(storage.Blobs, storage.Tables);
        await registry.RegisterAsync(new RegisterModelRequest(model, TestModelLoader.File(1), IdempotencyKey: "run-1"));
        await registry.PromoteAsync(model, 1);
        return model;
    }

    private static Dictionary<string, object> Row(int i) => new() { ["x"] = i, ["color"] = "red" };

    [Fact]
    public async Task Predict_Batch_IdsParallelToPredictionsAndLogged()
    {
        string model = await ServedModelAsync();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var (status, body) = await Host.PredictAsync(model, new { rows = new[] { Row(1), Row(2), Row(3) } });
        Assert.Equal(200, status);
        var ids = body.GetProperty("predictionIds").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(body.GetProperty("predictions").GetArrayLength(), ids.Count);
        Assert.Equal(3, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(PredictionIds.TryGetTime(id, out var at) && at >= before && at <= DateTimeOffset.UtcNow.AddSeconds(1)));

        await Host.Log.FlushAsync();
        var line = await SingleLogLineAsync(model);
        Assert.Equal(ids, line.GetProperty("ids").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(1, line.GetProperty("version").GetInt32());
        Assert.Equal(3, line.GetProperty("inputs").GetArrayLength());
        Assert.Equal(3, line.GetProperty("outputs").GetArrayLength());
    }

    [Fact]
    public async Task Predict_SingleRow_HeaderCarriesTheId()
    {
        string model = await ServedModelAsync();
        using var response = await Host.Client.PostAsync($"/api/models/{model}/predict",
            new StringContent(JsonSerializer.Serialize(new { rows = new[] { Row(1) } }), Encoding.UTF8, "application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.Headers.TryGetValues(PredictHandler.PredictionIdHeader, out var values));
        Assert.Equal(body.GetProperty("predictionIds")[0].GetString(), Assert.Single(values));
    }

    [Fact]
    public async Task Predict_ClientIds_EchoedAndLogged()
    {
        string model = await ServedModelAsync();
        var (status, body) = await Host.PredictAsync(model, new { rows = new[] { Row(1), Row(2) }, ids = new[] { "order-17", "order-18" } });
        Assert.Equal(200, status);
        Assert.Equal(["order-17", "order-18"], body.GetProperty("predictionIds").EnumerateArray().Select(e => e.GetString()!));
        await Host.Log.FlushAsync();
        Assert.Equal("order-18", (await SingleLogLineAsync(model)).GetProperty("ids")[1].GetString());
    }

    [Theory]
    [InlineData("""{"rows":[{"x":1,"color":"red"},{"x":2,"color":"red"}],"ids":["only-one"]}""")]
    [InlineData("""{"rows":[{"x":1,"color":"red"}],"ids":[17]}""")]
    [InlineData("""{"rows":[{"x":1,"color":"red"}],"ids":[""]}""")]
    [InlineData("""{"rows":[{"x":1,"color":"red"}],"ids":"a"}""")]
    public async Task Predict_BadIds_400WithCode(string body)
    {
        string model = await ServedModelAsync();
        var (status, error) = await Host.PredictAsync(model, body);
        Assert.Equal(400, status);
        Assert.Equal("serving.invalid_ids", error.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Predict_IdsSwitchedOff_AnswersAndLogsWithoutThem()
    {
        // The switch exists for the overhead benchmark (bench serve-ids): the same build must answer without any id work.
        string model = await ServedModelAsync();
        await using var host = await ServingHost.StartAsync(fixture.Azurite.ConnectionString, o => o.PredictionIdsEnabled = false);
        using var response = await host.Client.PostAsync($"/api/models/{model}/predict",
            new StringContent(JsonSerializer.Serialize(new { rows = new[] { Row(1) } }), Encoding.UTF8, "application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(1, body.GetProperty("predictions").GetArrayLength());
        Assert.False(body.TryGetProperty("predictionIds", out _));
        Assert.False(response.Headers.Contains(PredictHandler.PredictionIdHeader));
        await host.Log.FlushAsync();
        var line = await SingleLogLineAsync(model);
        Assert.False(line.TryGetProperty("ids", out _));
        Assert.Equal(1, line.GetProperty("outputs").GetArrayLength());
    }

    private async Task<JsonElement> SingleLogLineAsync(string model)
    {
        var lines = new List<JsonElement>();
        await foreach (var blob in Host.Storage.Blobs.ListAsync("predictions", model + "/"))
        {
            var content = await Host.Storage.Blobs.ReadAsync("predictions", blob.Name);
            lines.AddRange(Encoding.UTF8.GetString(content!.Data).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()));
        }
        return Assert.Single(lines);
    }
}
