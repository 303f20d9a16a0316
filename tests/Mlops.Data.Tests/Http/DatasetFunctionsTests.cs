using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Core;
using Mlops.Data.Versions;
using Mlops.Functions.Functions.Http;
using Mlops.Functions.Handlers;
using Mlops.Functions.Hosting;
using Mlops.Storage.InMemory;
using Mlops.Testing;
using Xunit;

namespace Mlops.Data.Tests.Http;

/// <summary>
/// The app's dataset functions (<see cref="DatasetFunctions"/> over <see cref="DatasetHandler"/>) served in process on
/// a test server, with the app's error mapping.
/// </summary>
public class DatasetFunctionsTests : IAsyncLifetime
{
    private readonly DatasetStore _store = new(new InMemoryBlobStore(), new InMemoryTableStore());
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(_store);
        builder.Services.AddSingleton<DatasetHandler>();
        _app = builder.Build();
        _app.MapFunctions(e => ErrorMiddleware.Map(e), Json.Options, typeof(DatasetFunctions));
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task GetVersions_And_Details_ReturnJson()
    {
        var r = await _store.IngestAsync("churn", TestData.Csv(100), "a.csv", new IngestOptions("target"));

        using var list = JsonDocument.Parse(await _client.GetStringAsync("/api/datasets/churn"));
        using var details = JsonDocument.Parse(await _client.GetStringAsync($"/api/datasets/churn/versions/{r.Hash}"));

        Assert.Equal(r.Hash, list.RootElement[0].GetProperty("hash").GetString());
        Assert.Equal("accepted", list.RootElement[0].GetProperty("outcome").GetString());
        Assert.Equal(100, details.RootElement.GetProperty("profile").GetProperty("rowCount").GetInt64());
        Assert.Equal("accepted", details.RootElement.GetProperty("validation").GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task UnknownVersion_404_BadName_400()
    {
        var missing = await _client.GetAsync($"/api/datasets/churn/versions/{new string('0', 64)}");
        var badHash = await _client.GetAsync("/api/datasets/churn/versions/xyz");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badHash.StatusCode);
        Assert.Contains("data.invalid_hash", await badHash.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PutSchema_ValidEdit_Saved_InvalidEdit_400()
    {
        await _store.IngestAsync("churn2", TestData.Csv(100), "a.csv", new IngestOptions("target"));
        string schema = await _client.GetStringAsync("/api/datasets/churn2/schema");
        string relaxed = schema.Replace("\"allowExtraColumns\":false", "\"allowExtraColumns\":true");
        Assert.NotEqual(schema, relaxed);

        var ok = await _client.PutAsync(
            "/api/datasets/churn2/schema",
            new StringContent(relaxed, Encoding.UTF8, "application/json")
        );
        var bad = await _client.PutAsync(
            "/api/datasets/churn2/schema",
            new StringContent("""{"columns":[]}""", Encoding.UTF8, "application/json")
        );

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.True((await _store.GetSchemaAsync("churn2"))!.AllowExtraColumns);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("data.schema", await bad.Content.ReadAsStringAsync());
    }

    private static async Task<(HttpStatusCode Status, string Code, string Message)> ErrorOf(
        HttpResponseMessage response
    )
    {
        string text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        return (response.StatusCode, error.GetProperty("code").GetString()!, error.GetProperty("message").GetString()!);
    }

    [Theory]
    [InlineData("bc.")]
    [InlineData("BC")]
    [InlineData("my_data")]
    [InlineData("a--b")]
    public async Task Get_InvalidDatasetName_400StatingTheRule(string name)
    {
        var (status, code, message) = await ErrorOf(await _client.GetAsync($"/api/datasets/{name}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("dataset.invalid_name", code);
        Assert.Contains("lower-case letters", message);
    }

    [Fact]
    public async Task Get_DatasetThatNeverReceivedAFile_404NotEmptyList()
    {
        var (status, code, message) = await ErrorOf(await _client.GetAsync("/api/datasets/never-dropped"));
        Assert.Equal(HttpStatusCode.NotFound, status); // before: 200 []
        Assert.Equal("dataset.not_found", code);
        Assert.Contains("incoming/never-dropped/", message);
    }

    [Fact]
    public async Task Errors_UseTheErrorBodyNotProblemJson()
    {
        var response = await _client.GetAsync($"/api/datasets/churn/versions/{new string('0', 64)}");
        Assert.DoesNotContain("problem", response.Content.Headers.ContentType?.MediaType ?? "");
        var (status, code, _) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("data.version_not_found", code);
        Assert.Equal(
            "data.schema_not_found",
            (await ErrorOf(await _client.GetAsync("/api/datasets/nothing-here/schema"))).Code
        );
    }

    [Theory]
    [InlineData("""{"columns":[{"name":"target","kind":"numeric"}],"label":"target","isAdmin":true}""", "isAdmin")]
    [InlineData("""{"columns":[{"name":"target","kind":"numeric","owner":"x"}],"label":"target"}""", "owner")]
    [InlineData("""{"columns":[{"name":"x","kind":"numeric"}],"label":"target"}""", "target")]
    [InlineData("""{"columns":[{"name":"x","kind":"numeric"}]}""", "label")]
    [InlineData("""{"columns":[{"name":"target","kind":"numeric","max":1e400}],"label":"target"}""", "range")]
    [InlineData("""{"columns":[{"name":"\ud800","kind":"numeric"}],"label":"target"}""", "UTF-8")]
    [InlineData("""{"columns":""", "schema")]
    [InlineData("", "empty")]
    [InlineData(
        """{"columns":[{"name":"target","kind":"numeric"}],"label":"target","labelClasses":[]}""",
        "labelClasses is empty"
    )]
    [InlineData(
        """{"columns":[{"name":"target","kind":"numeric"}],"label":"target","inferredFrom":"../../etc/passwd"}""",
        "inferredFrom"
    )]
    [InlineData(
        """{"columns":[{"name":"target","kind":"numeric"}],"label":"target","labelClasses":["0","0"]}""",
        "twice"
    )]
    public async Task PutSchema_UnknownKeysMissingLabelOrBadJson_400NamingIt(string body, string named)
    {
        await _store.IngestAsync("churn3", TestData.Csv(100), "a.csv", new IngestOptions("target"));
        var response = await _client.PutAsync(
            "/api/datasets/churn3/schema",
            new StringContent(body, Encoding.UTF8, "application/json")
        );
        var (status, _, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(named, message);
        Assert.Equal("target", (await _store.GetSchemaAsync("churn3"))!.Label);
    }
}
