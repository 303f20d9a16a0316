using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.Functions.Functions;
using Mlops.ML;
using Mlops.ML.Training;
using Mlops.Registry;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>Batch scoring through the local host: drop a CSV into scoring/, the job fans out, every row is scored
/// once.</summary>
public sealed class BatchScoringEndToEndTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    private static readonly Lazy<(byte[] ModelJson, DataTable Data)> Trained = new(() =>
    {
        var data = CsvTableReader.Parse(Encoding.UTF8.GetString(DropToModelTests.BreastCancer));
        var trained = ModelTrainer.Train(
            data,
            new TrainingSpec("target", MlTask.Binary)
            {
                Options = new Dictionary<string, object> { ["num_rounds"] = 10 },
            }
        );
        return (Encoding.UTF8.GetBytes(trained.Model.ToJson()), data);
    });

    /// <summary>The breast cancer rows as scoring input (id first, no target); <paramref name="replace"/> swaps in bad
    /// rows.</summary>
    internal static byte[] Input(int rows, Func<int, string?>? replace = null)
    {
        var data = Trained.Value.Data;
        var features = data.Columns.Where(c => c.Name != "target").ToList();
        var lines = features.Select(c => c.Numbers!).ToArray();
        var csv = new StringBuilder("id," + string.Join(",", features.Select(c => c.Name)) + "\n");
        for (int r = 0; r < rows; r++)
        {
            int source = r % data.RowCount;
            csv.Append(
                replace?.Invoke(r + 1)
                    ?? $"id-{r + 1},"
                        + string.Join(",", lines.Select(v => v[source].ToString("R", CultureInfo.InvariantCulture)))
            );
            csv.Append('\n');
        }
        return Encoding.UTF8.GetBytes(csv.ToString());
    }

    internal static async Task<string> RegisterAsync(StorageServices storage)
    {
        var registry = new ModelRegistry(storage.Blobs, storage.Tables);
        string model = "bc-" + Guid.NewGuid().ToString("N")[..8];
        var v = await registry.RegisterAsync(
            new RegisterModelRequest(model, Trained.Value.ModelJson, IdempotencyKey: "batch-e2e")
        );
        await registry.PromoteAsync(model, v.Version);
        return model;
    }

    /// <summary>Waits for the model's job on <paramref name="input"/> to finish; returns it (GET one job).</summary>
    internal static async Task<JsonElement> WaitForJobAsync(
        HttpClient http,
        string model,
        string input,
        TimeSpan timeout,
        Func<JsonElement, bool>? until = null
    )
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement last = default;
        while (DateTime.UtcNow < deadline)
        {
            var list = await http.GetFromJsonAsync<JsonElement>($"/api/models/{model}/batch");
            foreach (var job in list.GetProperty("jobs").EnumerateArray())
            {
                if (job.GetProperty("input").GetString() != $"scoring/{input}")
                    continue;
                last = job;
                if ((until ?? (j => j.GetProperty("status").GetString() is "Completed" or "Failed"))(job))
                    return await http.GetFromJsonAsync<JsonElement>(
                        $"/api/models/{model}/batch/{job.GetProperty("jobId").GetString()}"
                    );
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The job on scoring/{input} did not get there within {timeout}; last seen: {last}");
    }

    /// <summary>Every row number in the job's parts (and their count), read as a user would.</summary>
    internal static async Task<List<long>> ScoredRowsAsync(StorageServices storage, JsonElement job)
    {
        var rows = new List<long>();
        foreach (var part in job.GetProperty("parts").EnumerateArray())
        {
            string name = part.GetString()!["predictions/".Length..];
            var text = Encoding.UTF8.GetString((await storage.Blobs.ReadAsync("predictions", name))!.Data);
            rows.AddRange(
                text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Skip(1)
                    .Select(l => long.Parse(l[..l.IndexOf(',')], CultureInfo.InvariantCulture))
            );
        }
        return rows;
    }

    [Fact]
    public async Task Drop_ScoringCsv_JobCompletes_EveryRowOnce_BadRowInErrors_RedeliveryAndRepostStartNothing()
    {
        string model = await RegisterAsync(host.Storage);
        const int rows = 2000;
        await host.Storage.Blobs.WriteAsync(
            "scoring",
            $"{model}/day1.json",
            """{"columns":["id"],"chunkRows":150}"""u8.ToArray()
        );
        string etag = await host.Storage.Blobs.WriteAsync(
            "scoring",
            $"{model}/day1.csv",
            Input(rows, r => r == 777 ? "id-777,oops" + string.Concat(Enumerable.Repeat(",1", 29)) : null)
        );

        var job = await WaitForJobAsync(host.Http, model, $"{model}/day1.csv", TimeSpan.FromSeconds(120));
        output.WriteLine(job.ToString());
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        Assert.Equal(rows - 1, job.GetProperty("rowsScored").GetInt64());
        Assert.Equal(rows, job.GetProperty("rowsTotal").GetInt64());
        Assert.Equal(1, job.GetProperty("errors").GetInt64());
        Assert.Equal(1, job.GetProperty("version").GetInt32());
        Assert.Equal(14, job.GetProperty("parts").GetArrayLength());
        var scored = await ScoredRowsAsync(host.Storage, job);
        Assert.Equal(Enumerable.Range(1, rows).Where(r => r != 777).Select(r => (long)r), scored.Order());
        string errors = Encoding.UTF8.GetString(
            (
                await host.Storage.Blobs.ReadAsync(
                    "predictions",
                    job.GetProperty("errorsBlob").GetString()!["predictions/".Length..]
                )
            )!.Data
        );
        Assert.Contains("777,mean radius,'oops' is not a number", errors);
        var manifest = await host.Storage.Blobs.ReadAsync(
            "predictions",
            job.GetProperty("manifest").GetString()!["predictions/".Length..]
        );
        Assert.Contains("\"rows\":1999", Encoding.UTF8.GetString(manifest!.Data));

        // The same blob version again: a redelivered event and a POST both find the job; nothing new starts.
        string jobId = job.GetProperty("jobId").GetString()!;
        var trigger = new ScoringDropped(
            host.Storage,
            new ModelRegistry(host.Storage.Blobs, host.Storage.Tables),
            NullLogger<ScoringDropped>.Instance
        );
        Assert.Equal(jobId, await trigger.RunAsync($"{model}/day1.csv", etag, host.Client));
        var post = await host.Http.PostAsJsonAsync($"/api/models/{model}/batch", new { input = $"{model}/day1.csv" });
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var posted = await post.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(jobId, posted.GetProperty("jobId").GetString());
        Assert.False(posted.GetProperty("started").GetBoolean());
        Assert.StartsWith("/api/orchestrations/", posted.GetProperty("statusQueryGetUri").GetString());
        var list = await host.Http.GetFromJsonAsync<JsonElement>($"/api/models/{model}/batch");
        Assert.Single(list.GetProperty("jobs").EnumerateArray());
    }

    [Fact]
    public async Task Drop_HeaderMissingAModelColumn_JobFailsNamingTheColumns_NoPartWritten()
    {
        string model = await RegisterAsync(host.Storage);
        var csv = Encoding.UTF8.GetString(Input(50)).Replace("worst area", "area_worst");
        await host.Storage.Blobs.WriteAsync("scoring", $"{model}/renamed.csv", Encoding.UTF8.GetBytes(csv));
        var job = await WaitForJobAsync(host.Http, model, $"{model}/renamed.csv", TimeSpan.FromSeconds(90));
        output.WriteLine(job.ToString());
        Assert.Equal("Failed", job.GetProperty("status").GetString());
        string failure = job.GetProperty("failure").GetString()!;
        Assert.Contains("'worst area'", failure);
        Assert.Contains("'area_worst'", failure);
        Assert.Equal(0, job.GetProperty("parts").GetArrayLength());
    }

    [Fact]
    public async Task Post_BadInputs_AnswerWithTheDocumentedErrors()
    {
        string model = await RegisterAsync(host.Storage);
        var outside = await host.Http.PostAsJsonAsync(
            $"/api/models/{model}/batch",
            new { input = "../incoming/x.csv" }
        );
        Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
        Assert.Equal(
            "batch.invalid_input",
            (await outside.Content.ReadFromJsonAsync<JsonElement>())
                .GetProperty("error")
                .GetProperty("code")
                .GetString()
        );
        var missing = await host.Http.PostAsJsonAsync(
            $"/api/models/{model}/batch",
            new { input = $"{model}/nothing.csv" }
        );
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var unknownModel = await host.Http.PostAsJsonAsync(
            "/api/models/no-such-model/batch",
            new { input = "no-such-model/x.csv" }
        );
        Assert.Equal(HttpStatusCode.NotFound, unknownModel.StatusCode);
        var typo = await host.Http.PostAsJsonAsync(
            $"/api/models/{model}/batch",
            new { input = $"{model}/x.csv", chunkrow = 5 }
        );
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        var noKey = await host.Anonymous.PostAsJsonAsync(
            $"/api/models/{model}/batch",
            new { input = $"{model}/x.csv" }
        );
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(
            HttpStatusCode.NotFound,
            (await host.Http.GetAsync($"/api/models/{model}/batch/batch-{model}-0000000000000000")).StatusCode
        );
    }

    [Fact]
    public async Task Cli_SubmitUploadsAndTheDropRuns_StatusAndListReadTheApi()
    {
        string model = await RegisterAsync(host.Storage);
        string file = Path.Combine(Path.GetTempPath(), $"batch-cli-{Guid.NewGuid():N}.csv");
        await File.WriteAllBytesAsync(file, Input(300));
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = Mlops.Cli.CliApp.Run(
                [
                    "batch",
                    "submit",
                    model,
                    file,
                    "--name",
                    "cli.csv",
                    "--columns",
                    "id",
                    "--chunk-rows",
                    "100",
                    "--connection",
                    host.Azurite.ConnectionString,
                ],
                stdout,
                stderr
            );
            Assert.True(code == 0, stderr.ToString());
            string jobId = stdout.ToString().Split(' ').First(w => w.StartsWith("batch-", StringComparison.Ordinal));
            var job = await WaitForJobAsync(host.Http, model, $"{model}/cli.csv", TimeSpan.FromSeconds(90));
            Assert.Equal(jobId, job.GetProperty("jobId").GetString());
            Assert.Equal(300, job.GetProperty("rowsScored").GetInt64());
            Assert.Equal(3, job.GetProperty("parts").GetArrayLength());

            string[] api = ["--url", $"http://127.0.0.1:{host.Port}", "--key", FunctionHostFixture.Key];
            var status = new StringWriter();
            Assert.Equal(
                0,
                Mlops.Cli.CliApp.Run(["batch", "status", model, jobId, .. api], status, new StringWriter())
            );
            Assert.Contains("\"Completed\"", status.ToString());
            var list = new StringWriter();
            Assert.Equal(0, Mlops.Cli.CliApp.Run(["batch", "list", model, .. api], list, new StringWriter()));
            Assert.Contains(jobId, list.ToString());
            var bad = new StringWriter();
            Assert.NotEqual(
                0,
                Mlops.Cli.CliApp.Run(
                    [
                        "batch",
                        "submit",
                        model,
                        file,
                        "--error-threshold",
                        "2.5",
                        "--connection",
                        host.Azurite.ConnectionString,
                    ],
                    new StringWriter(),
                    bad
                )
            );
            Assert.Contains("errorThreshold", bad.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }
}
