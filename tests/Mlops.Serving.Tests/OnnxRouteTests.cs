using System.Net.Http.Json;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Onnx;
using Mlops.ML.Training;
using Mlops.Registry;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary><c>GET /api/models/{model}/versions/{n}/model.onnx</c>: the registered model as ONNX, or a clear
/// 4xx.</summary>
public sealed class OnnxRouteTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..18];

    private static Mlops.ML.Models.Model Train(string csv) =>
        ModelTrainer.Train(CsvTableReader.Parse(csv), new TrainingSpec("y", MlTask.Binary)).Model;

    private static string Rows(string header, Func<int, string> row) =>
        header + "\n" + string.Concat(Enumerable.Range(0, 80).Select(i => row(i) + "\n"));

    [Fact]
    public async Task GetOnnx_TreeModel_ReturnsTheExportedGraph()
    {
        var model = Train(Rows("x,shade,y", i => $"{i},{(i % 3 == 0 ? "red" : "blue")},{i % 2}"));
        string name = Unique("onnx");
        await fixture.Host.Registry.RegisterAsync(
            new RegisterModelRequest(name, System.Text.Encoding.UTF8.GetBytes(model.ToJson()))
        );

        using var response = await fixture.Host.Client.GetAsync($"/api/models/{name}/versions/1/model.onnx");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var expected = OnnxExporter.Export(Mlops.ML.Models.Model.FromJson(model.ToJson()));
        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetOnnx_DateTimeInput_Returns422WithCode()
    {
        var model = Train(Rows("x,when,y", i => $"{i},2026-01-{i % 28 + 1:D2},{i % 2}"));
        string name = Unique("onnx");
        await fixture.Host.Registry.RegisterAsync(
            new RegisterModelRequest(name, System.Text.Encoding.UTF8.GetBytes(model.ToJson()))
        );

        using var response = await fixture.Host.Client.GetAsync($"/api/models/{name}/versions/1/model.onnx");

        Assert.Equal(422, (int)response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("onnx.unsupported_model", body.GetProperty("error").GetProperty("code").GetString());
    }
}
