using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mlops.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>The acceptance path: drop a CSV + mlops.json with a plain storage client, get a served production
/// model.</summary>
public sealed class DropToModelTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    internal static byte[] BreastCancer =>
        File.ReadAllBytes(Path.Combine(AzuriteInstance.RepoRoot(), "tests", "data", "sk_breast_cancer.csv"));
    private const string BinaryConfig = """{"target":"target","task":"binary"}""";

    [Fact]
    public async Task Health_IsAnonymous_ApiNeedsKey()
    {
        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous.GetAsync("/api/health")).StatusCode);
        var noKey = await host.Anonymous.GetAsync("/api/pipelines/xyz/runs");
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.DoesNotContain("\"runs\"", await noKey.Content.ReadAsStringAsync()); // the host answers before the worker sees it
        var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/pipelines/xyz/runs");
        wrong.Headers.Add("x-functions-key", "nope");
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous.SendAsync(wrong)).StatusCode);
        Assert.Equal(
            HttpStatusCode.OK,
            (await host.Anonymous.GetAsync($"/api/pipelines/xyz/runs?code={FunctionHostFixture.Key}")).StatusCode
        );
    }

    [Fact]
    public async Task Drop_CsvWithConfig_ProductionModelRegistered_RedropOfSameBytesTrainsNothing()
    {
        await host.DropAsync("cancer", "part1.csv", BreastCancer, BinaryConfig);
        var status = await host.WaitForDropRunAsync("cancer", "part1.csv", TimeSpan.FromSeconds(90));
        output.WriteLine(status.ToString());
        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        var result = FunctionHostFixture.Embedded(status, "output");
        Assert.Equal("promoted", result.GetProperty("outcome").GetString());
        Assert.Equal(1, result.GetProperty("version").GetInt32());
        Assert.True(result.GetProperty("metrics").GetProperty("auc").GetDouble() > 0.95);
        // Lineage names the task from the dataset's config (it used to be guessed from the metric: null for binary).
        var version = await host.Http.GetFromJsonAsync<JsonElement>("/api/models/cancer/versions/1");
        Assert.Contains("\"task\":\"binary\"", version.ToString().Replace(" ", ""));
        // Registration stored the global importance (mean |SHAP| over the held-out rows) with the version.
        var importance = await host.Http.GetFromJsonAsync<JsonElement>("/api/models/cancer/versions/1/importance");
        Assert.Equal(30, importance.GetProperty("columns").GetArrayLength());
        Assert.Equal(
            1.0,
            importance.GetProperty("columns").EnumerateArray().Sum(c => c.GetProperty("share").GetDouble()),
            6
        );

        // The promoted model serves: sensible classes for real rows, 400 for bad input, never 500.
        var rows = Encoding.UTF8.GetString(BreastCancer).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = rows[0].Split(',');
        var body = new StringBuilder("{\"rows\":[");
        var expected = new List<string>();
        for (int r = 1; r <= 40; r++)
        {
            var values = rows[r].Split(',');
            body.Append(r > 1 ? "," : "").Append('{');
            body.Append(
                string.Join(
                    ",",
                    header
                        .Select((h, i) => (h, v: values[i]))
                        .Where(x => x.h != "target")
                        .Select(x => $"\"{x.h}\":{x.v}")
                )
            );
            body.Append('}');
            expected.Add(values[Array.IndexOf(header, "target")]);
        }
        body.Append("]}");
        var predict = await host.Http.PostAsync(
            "/api/models/cancer/predict",
            new StringContent(body.ToString(), Encoding.UTF8, "application/json")
        );
        string predictText = await predict.Content.ReadAsStringAsync();
        Assert.True(predict.StatusCode == HttpStatusCode.OK, predictText);
        var answer = JsonDocument.Parse(predictText).RootElement;
        Assert.Equal("cancer", answer.GetProperty("model").GetString());
        Assert.Equal(1, answer.GetProperty("version").GetInt32());
        var predictions = answer.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(40, predictions.Count);
        int correct = predictions.Zip(expected, (p, e) => p.GetProperty("label").GetString() == e ? 1 : 0).Sum();
        Assert.True(correct >= 36, $"only {correct}/40 training rows predicted correctly: {predictText}");

        var malformed = await host.Http.PostAsync(
            "/api/models/cancer/predict",
            new StringContent("{\"rows\": [", Encoding.UTF8, "application/json")
        );
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        // curl -d sends a form content type: the body is still read as JSON, good or bad.
        var asForm = await host.Http.PostAsync(
            "/api/models/cancer/predict",
            new StringContent(body.ToString(), Encoding.UTF8, "application/x-www-form-urlencoded")
        );
        Assert.Equal(HttpStatusCode.OK, asForm.StatusCode);
        var malformedForm = await host.Http.PostAsync(
            "/api/models/cancer/predict",
            new StringContent("{\"rows\": [", Encoding.UTF8, "application/x-www-form-urlencoded")
        );
        Assert.Equal(HttpStatusCode.BadRequest, malformedForm.StatusCode);
        Assert.Contains("JSON", await malformedForm.Content.ReadAsStringAsync());
        var wrongType = await host.Http.PostAsync(
            "/api/models/cancer/predict",
            new StringContent("{\"rows\":[{\"mean radius\":\"big\"}]}", Encoding.UTF8, "application/json")
        );
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Contains("mean radius", await wrongType.Content.ReadAsStringAsync());
        Assert.Equal(
            HttpStatusCode.NotFound,
            (
                await host.Http.PostAsync(
                    "/api/models/unknown-model/predict",
                    new StringContent("{\"rows\":[{}]}", Encoding.UTF8, "application/json")
                )
            ).StatusCode
        );
        Assert.Equal(
            HttpStatusCode.Unauthorized,
            (
                await host.Anonymous.PostAsync(
                    "/api/models/cancer/predict",
                    new StringContent(body.ToString(), Encoding.UTF8, "application/json")
                )
            ).StatusCode
        );

        var listing = await host.Http.GetFromJsonAsync<JsonElement>("/api/models/cancer");
        output.WriteLine(listing.ToString());
        Assert.Contains("production", listing.ToString());

        // Same bytes under another name: no new data version, no training run.
        await host.DropAsync("cancer", "copy.csv", BreastCancer);
        var again = await host.WaitForDropRunAsync("cancer", "copy.csv", TimeSpan.FromSeconds(60));
        Assert.Equal("unchanged", FunctionHostFixture.Embedded(again, "output").GetProperty("outcome").GetString());

        // On-demand run on the latest data: 202 + id, then a second version.
        var run = await host.Admin.PostAsync("/api/pipelines/cancer/run", null);
        output.WriteLine(await run.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        string id = (await run.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var manual = await host.WaitForInstanceAsync(id, TimeSpan.FromSeconds(90));
        Assert.Equal("Completed", manual.GetProperty("runtimeStatus").GetString());
        Assert.Equal(2, FunctionHostFixture.Embedded(manual, "output").GetProperty("version").GetInt32());

        // The CLI sees the same registry; a rollback there is picked up by the running host without a restart.
        var cliOut = new StringWriter();
        Assert.Equal(
            0,
            Mlops.Cli.CliApp.Run(
                ["models", "show", "cancer", "--connection", host.Azurite.ConnectionString, "--json"],
                cliOut,
                new StringWriter()
            )
        );
        var shown = JsonDocument.Parse(cliOut.ToString()).RootElement;
        Assert.Equal(2, shown.GetProperty("state").GetProperty("aliases").GetProperty("production").GetInt32());
        var missing = new StringWriter();
        Assert.NotEqual(
            0,
            Mlops.Cli.CliApp.Run(
                ["models", "show", "no-such-model", "--connection", host.Azurite.ConnectionString],
                new StringWriter(),
                missing
            )
        );
        Assert.Contains("no-such-model", missing.ToString());
        var err = new StringWriter();
        Assert.True(
            Mlops.Cli.CliApp.Run(
                ["models", "rollback", "cancer", "--connection", host.Azurite.ConnectionString, "--reason", "e2e"],
                new StringWriter(),
                err
            ) == 0,
            err.ToString()
        );
        var swapDeadline = DateTime.UtcNow.AddSeconds(15);
        int served = 0;
        while (DateTime.UtcNow < swapDeadline)
        {
            var p = await host.Http.PostAsync(
                "/api/models/cancer/predict",
                new StringContent(body.ToString(), Encoding.UTF8, "application/json")
            );
            served = (await p.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32();
            if (served == 1)
                break;
            await Task.Delay(200);
        }
        Assert.Equal(1, served);
    }

    [Fact]
    public async Task Drop_WithoutConfig_RunFailsSayingWhatToAdd()
    {
        await host.DropAsync("noconfig", "data.csv", Encoding.UTF8.GetBytes("a,b\n1,2\n3,4\n"));
        var status = await host.WaitForDropRunAsync("noconfig", "data.csv", TimeSpan.FromSeconds(60));
        Assert.Equal("Failed", status.GetProperty("runtimeStatus").GetString());
        string message = status.ToString();
        Assert.Contains("incoming/noconfig/mlops.json", message);
        Assert.Contains("target", message);
    }

    [Fact]
    public async Task ManualRun_UnknownDataset_Is4xxWithMessage()
    {
        var response = await host.Admin.PostAsync("/api/pipelines/nothing-here/run", null);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("config.missing", error.GetProperty("code").GetString());
        Assert.Contains("mlops.json", error.GetProperty("message").GetString());
        var bad = await host.Admin.PostAsync("/api/pipelines/bad%20name/run", null);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
