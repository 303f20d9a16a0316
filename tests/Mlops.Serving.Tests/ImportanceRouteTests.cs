using System.Text;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Training;
using Mlops.Registry;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary><c>GET /api/models/{model}/versions/{n}/importance</c>: the global importance stored with the version, or a
/// clear 404.</summary>
public sealed class ImportanceRouteTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    [Fact]
    public async Task GetImportance_StoredAtRegistration_ServedAsStoredElse404()
    {
        var data = CsvTableReader.ReadFile(GbdtServingTests.DataPath("sk_diabetes"));
        var model = ModelTrainer
            .Train(
                data,
                new TrainingSpec("target", MlTask.Regression)
                {
                    Options = new Dictionary<string, object> { ["num_rounds"] = 20 },
                }
            )
            .Model;
        var registry = fixture.NewRegistry();
        string name = "imp-" + Guid.NewGuid().ToString("N")[..8];
        await registry.RegisterAsync(
            new RegisterModelRequest(name, Encoding.UTF8.GetBytes(model.ToJson()), IdempotencyKey: "run-1")
        );
        await registry.RegisterAsync(
            new RegisterModelRequest(name, Encoding.UTF8.GetBytes(model.ToJson()), IdempotencyKey: "run-2")
        );
        var summary = AttributionSummary.Compute(model, data, maxRows: 100);
        await registry.WriteVersionFileAsync(
            name,
            1,
            AttributionSummary.FileName,
            Encoding.UTF8.GetBytes(summary.ToJson())
        );

        using var response = await fixture.Host.Client.GetAsync($"/api/models/{name}/versions/1/importance");
        Assert.Equal(200, (int)response.StatusCode);
        var served = AttributionSummary.FromJson(await response.Content.ReadAsStringAsync());
        Assert.Equal(summary.Columns, served.Columns);
        Assert.Equal(100, served.Rows);

        using var missing = await fixture.Host.Client.GetAsync($"/api/models/{name}/versions/2/importance");
        Assert.Equal(404, (int)missing.StatusCode);
        var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("registry.no_importance", error.GetProperty("code").GetString());
        using var noVersion = await fixture.Host.Client.GetAsync($"/api/models/{name}/versions/9/importance");
        Assert.Equal(404, (int)noVersion.StatusCode);
    }

    [Theory]
    [InlineData("model.json")]
    [InlineData("../other/model.json")]
    [InlineData("Importance.json")]
    [InlineData("")]
    public async Task WriteVersionFile_ReservedOrInvalidName_Refused(string file)
    {
        var registry = fixture.NewRegistry();
        string name = "impn-" + Guid.NewGuid().ToString("N")[..8];
        await registry.RegisterAsync(new RegisterModelRequest(name, "{}"u8.ToArray(), IdempotencyKey: "run-1"));
        var e = await Assert.ThrowsAsync<RegistryException>(() =>
            registry.WriteVersionFileAsync(name, 1, file, "{}"u8.ToArray())
        );
        Assert.Equal("registry.invalid_file_name", e.Code);
        Assert.Null(await registry.ReadVersionFileAsync(name, 1, "importance_shap.json"));
    }
}
