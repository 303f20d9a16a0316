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
        Assert.All(ids, id =>
            Assert.True(
                PredictionIds.TryGetTime(id, out var at) && at >= before && at <= DateTimeOffset.UtcNow.AddSeconds(1)
            )
        );

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
        using var response = await Host.Client.PostAsync(
            $"/api/models/{model}/predict",
            new StringContent(
                JsonSerializer.Serialize(new { rows = new[] { Row(1) } }),
                Encoding.UTF8,
                "application/json"
            )
        );
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.Headers.TryGetValues(PredictHandler.PredictionIdHeader, out var values));
        Assert.Equal(body.GetProperty("predictionIds")[0].GetString(), Assert.Single(values));
    }

    [Fact]
    public async Task Predict_ClientIds_EchoedAndLogged()
    {
        string model = await ServedModelAsync();
        var (status, body) = await Host.PredictAsync(
            model,
            new { rows = new[] { Row(1), Row(2) }, ids = new[] { "order-17", "order-18" } }
        );
        Assert.Equal(200, status);
        Assert.Equal(
            ["order-17", "order-18"],
            body.GetProperty("predictionIds").EnumerateArray().Select(e => e.GetString()!)
        );
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
        // The switch exists for the overhead benchmark (bench serve-ids): the same build must answer without any id
        // work.
        string model = await ServedModelAsync();
        await using var host = await ServingHost.StartAsync(fixture.Azurite.ConnectionString, o =>
            o.PredictionIdsEnabled = false
        );
        using var response = await host.Client.PostAsync(
            $"/api/models/{model}/predict",
            new StringContent(
                JsonSerializer.Serialize(new { rows = new[] { Row(1) } }),
                Encoding.UTF8,
                "application/json"
            )
        );
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

    [Theory]
    [InlineData("caf\u00e9-1")] // non-ASCII
    [InlineData("order\u000d\u000aX-Evil: 1")] // CR LF: header injection
    [InlineData("tab\u0009id")]
    [InlineData(" padded")]
    public async Task Predict_ClientIdNotPrintableAscii_400NamingTheId_NotCountedAsServed(string id)
    {
        // Before: the id was echoed into x-mlops-prediction-id, Kestrel refused the header value, the client got a 500,
        // and the version's live stats had already counted the request as an error-free answer.
        string model = await ServedModelAsync();
        Assert.Equal(200, (await Host.PredictAsync(model, new { rows = new[] { Row(1) } })).Status); // the router is loaded
        long before = Host.Runtime.LiveTraffic(model, 60).Sum(v => v.Requests);

        var (status, body) = await Host.PredictAsync(model, new { rows = new[] { Row(1) }, ids = new[] { id } });

        Assert.Equal(400, status);
        var error = body.GetProperty("error");
        Assert.Equal("serving.invalid_ids", error.GetProperty("code").GetString());
        Assert.Contains("\"ids\"[0]", error.GetProperty("message").GetString());
        Assert.Contains("printable ASCII", error.GetProperty("message").GetString());
        Assert.Equal(before, Host.Runtime.LiveTraffic(model, 60).Sum(v => v.Requests)); // a client error says nothing about the version
    }

    [Theory]
    [InlineData("""{"rows":[{"x":1,"color":"red"}],"row":[{"x":2}]}""", "\"row\"")]
    [InlineData("""{"rows":[{"x":1,"color":"red"}],"idz":["a"]}""", "\"idz\"")]
    public async Task Predict_UnknownTopLevelProperty_400NamingIt(string request, string named)
    {
        string model = await ServedModelAsync();
        var (status, body) = await Host.PredictAsync(model, request);
        Assert.Equal(400, status);
        Assert.Equal("serving.unknown_field", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(named, body.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(
            200,
            (await Host.PredictAsync(model, """{"rows":[{"x":1,"color":"red"}],"ids":["a"],"requestKey":"k"}""")).Status
        );
    }

    [Fact]
    public async Task Predict_FlushBeforeAnswer_LineInStorageWhenTheAnswerArrives()
    {
        // The default buffers lines for PredictionLogFlushInterval: a SIGKILL right after an answer loses it. With the
        // option on, the line is appended before the answer is written.
        string model = await ServedModelAsync();
        await using var host = await ServingHost.StartAsync(fixture.Azurite.ConnectionString, o =>
        {
            o.PredictionLogFlushBeforeAnswer = true;
            o.PredictionLogFlushInterval = TimeSpan.FromHours(1); // the background loop never flushes during the test
        });
        var (status, body) = await host.PredictAsync(model, new { rows = new[] { Row(1) } });
        Assert.Equal(200, status);
        var line = await SingleLogLineAsync(model); // read at once, no flush
        Assert.Equal(body.GetProperty("predictionIds")[0].GetString(), line.GetProperty("ids")[0].GetString());
    }

    [Fact]
    public async Task Predict_DefaultLog_AnsweredLinesWaitForTheFlushInterval()
    {
        // Measures the window a SIGKILL can lose: answered, not yet in storage, until the interval's flush (5 s here so
        // the first flush cannot come before the answer; the default is 1 s).
        string model = await ServedModelAsync();
        await using var host = await ServingHost.StartAsync(fixture.Azurite.ConnectionString, o =>
            o.PredictionLogFlushInterval = TimeSpan.FromSeconds(5)
        );
        Assert.Equal(200, (await host.PredictAsync(model, new { rows = new[] { Row(1) } })).Status);
        var answered = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, await LogLineCountAsync(model)); // answered but only in memory: a kill now loses it
        while (await LogLineCountAsync(model) == 0)
            await Task.Delay(20);
        Assert.InRange(answered.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(6));
    }

    private async Task<int> LogLineCountAsync(string model)
    {
        int count = 0;
        await foreach (var blob in Host.Storage.Blobs.ListAsync("predictions", model + "/"))
            count += Encoding
                .UTF8.GetString((await Host.Storage.Blobs.ReadAsync("predictions", blob.Name))!.Data)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Length;
        return count;
    }

    private async Task<JsonElement> SingleLogLineAsync(string model)
    {
        var lines = new List<JsonElement>();
        await foreach (var blob in Host.Storage.Blobs.ListAsync("predictions", model + "/"))
        {
            var content = await Host.Storage.Blobs.ReadAsync("predictions", blob.Name);
            lines.AddRange(
                Encoding
                    .UTF8.GetString(content!.Data)
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            );
        }
        return Assert.Single(lines);
    }
}
