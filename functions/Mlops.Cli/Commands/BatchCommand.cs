using System.CommandLine;
using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Serving.Batch;

namespace Mlops.Cli.Commands;

/// <summary>
/// <c>mlops batch submit|status|list</c>: batch scoring through the app. <c>submit</c> drops the file where the app
/// picks it up (<c>scoring/{model}/{name}.csv</c>, its settings in <c>{name}.json</c> beside it, written first) and
/// prints the job id the drop starts; <c>status</c> and <c>list</c> read the app's batch API
/// (<c>--url</c>/<c>$MLOPS_URL</c>, key <c>--key</c>/<c>$MLOPS_FUNCTION_KEY</c>).
/// </summary>
public static class BatchCommand
{
    private static readonly Option<string?> Connection = new("--connection")
    {
        Description = CliStorage.ConnectionHelp,
    };
    private static readonly Option<string?> Url = new("--url")
    {
        Description = "The app's address (default: $MLOPS_URL, else http://localhost:7071).",
        Recursive = true,
    };
    private static readonly Option<string?> Key = new("--key")
    {
        Description = "A function key (default: $MLOPS_FUNCTION_KEY).",
        Recursive = true,
    };

    public static Command Create()
    {
        var root = new Command("batch", "Batch scoring jobs: drop a CSV, get its predictions (fanned out, resumable).");
        root.Options.Add(Url);
        root.Options.Add(Key);

        var model = new Argument<string>("model") { Description = "Registered model name." };
        var file = new Argument<string>("file")
        {
            Description = "The CSV to score (a header row with the model's columns).",
        };
        var name = new Option<string?>("--name")
        {
            Description = "Blob name under scoring/{model}/ (default: the file's name).",
        };
        var version = new Option<int?>("--version") { Description = "Model version (default: the production alias)." };
        var alias = new Option<string?>("--alias") { Description = "Alias to use instead of production." };
        var columns = new Option<string?>("--columns")
        {
            Description = "Input columns copied next to each prediction, comma-separated (e.g. id).",
        };
        var threshold = new Option<double?>("--error-threshold")
        {
            Description = "Bad rows tolerated: -1 any (default), 0 none, a count, or a share (0.01).",
        };
        var chunkRows = new Option<int?>("--chunk-rows")
        {
            Description = $"Rows per chunk (default {BatchSettings.DefaultChunkRows:N0}).",
        };
        var combine = new Option<bool>("--combine") { Description = "Also write all parts as one predictions.csv." };
        var log = new Option<bool>("--log")
        {
            Description = "Also write the predictions to the prediction log (monitoring, feedback).",
        };
        var explain = new Option<bool>("--explain")
        {
            Description =
                "Also write each row's explanation: base and contribution_{column} columns (TreeSHAP/linear).",
        };
        var submit = new Command(
            "submit",
            "Upload a CSV (and its settings) to the scoring container; the app starts the job."
        )
        {
            model,
            file,
            name,
            version,
            alias,
            columns,
            threshold,
            chunkRows,
            combine,
            log,
            explain,
            Connection,
        };
        submit.SetAction((pr, ct) => Guard(pr, async stdout =>
                {
                    string m = Mlops.Registry.RegistryNames.CheckModel(pr.GetValue(model));
                    string path = pr.GetValue(file)!;
                    if (!File.Exists(path))
                        throw new MlopsException("batch.no_file", $"{path} does not exist.");
                    string blobName = pr.GetValue(name) ?? Path.GetFileName(path);
                    if (!blobName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                        blobName += ".csv";
                    string input = BatchPaths.CheckInput($"{m}/{blobName}");
                    var settings = new BatchSettings(
                        null,
                        pr.GetValue(version),
                        pr.GetValue(alias),
                        null,
                        pr.GetValue(columns)
                            ?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .ToList(),
                        pr.GetValue(threshold),
                        pr.GetValue(chunkRows),
                        pr.GetValue(combine),
                        pr.GetValue(log),
                        pr.GetValue(explain)
                    );
                    settings.ToJob(m, input, "\"check\"", "cli"); // every mistake is reported before anything is uploaded
                    var storage = CliStorage.Connect(pr.GetValue(Connection));
                    // Settings first (always, so a stale file from an earlier submit never applies), then the data that
                    // triggers the job.
                    await storage.Blobs.WriteAsync(
                        BatchPaths.ScoringContainer,
                        input[..^".csv".Length] + ".json",
                        JsonSerializer.SerializeToUtf8Bytes(settings, Json.Options),
                        cancellationToken: ct
                    );
                    string etag;
                    await using (var stream = File.OpenRead(path))
                        etag = await storage.Blobs.UploadAsync(BatchPaths.ScoringContainer, input, stream, ct);
                    string jobId = BatchPaths.JobId(m, input, etag);
                    await stdout.WriteLineAsync(
                        $"uploaded {BatchPaths.ScoringContainer}/{input}; job {jobId} starts when the app sees the drop"
                    );
                    await stdout.WriteLineAsync($"follow it with: mlops batch status {m} {jobId}");
                }));

        var jobId = new Argument<string>("job") { Description = "Job id (batch-{model}-…)." };
        var statusModel = new Argument<string>("model") { Description = "Registered model name." };
        var status = new Command("status", "One job: status, rows scored, errors, outputs.") { statusModel, jobId };
        status.SetAction((pr, ct) => Guard(pr, async stdout =>
                {
                    string m = Mlops.Registry.RegistryNames.CheckModel(pr.GetValue(statusModel));
                    var job = await GetAsync(
                        pr,
                        $"/api/models/{m}/batch/{Uri.EscapeDataString(pr.GetValue(jobId)!)}",
                        ct
                    );
                    await stdout.WriteLineAsync(
                        JsonSerializer.Serialize(job, new JsonSerializerOptions { WriteIndented = true })
                    );
                }));

        var listModel = new Argument<string>("model") { Description = "Registered model name." };
        var list = new Command("list", "A model's jobs, newest first.") { listModel };
        list.SetAction((pr, ct) => Guard(pr, async stdout =>
                {
                    string m = Mlops.Registry.RegistryNames.CheckModel(pr.GetValue(listModel));
                    var answer = await GetAsync(pr, $"/api/models/{m}/batch", ct);
                    var jobs = answer.GetProperty("jobs").EnumerateArray().ToList();
                    await stdout.WriteLineAsync(
                        $"{"job", -32} {"status", -10} {"version", 7} {"rows", 12} {"errors", 8} {"percent", 7}  input"
                    );
                    foreach (var j in jobs)
                    {
                        await stdout.WriteLineAsync(
                            $"{j.GetProperty("jobId").GetString(), -32} {j.GetProperty("status").GetString(), -10} "
                                + $"{Text(j, "version"), 7} {Text(j, "rowsScored"), 12} {Text(j, "errors"), 8} {Text(j, "percent"), 7}  {j.GetProperty("input").GetString()}"
                        );
                    }
                    await stdout.WriteLineAsync($"{jobs.Count} job(s)");
                }));

        root.Subcommands.Add(submit);
        root.Subcommands.Add(status);
        root.Subcommands.Add(list);
        return root;
    }

    private static string Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "-";

    private static async Task<JsonElement> GetAsync(ParseResult pr, string path, CancellationToken ct)
    {
        string url = pr.GetValue(Url) ?? Environment.GetEnvironmentVariable("MLOPS_URL") ?? "http://localhost:7071";
        string? key = pr.GetValue(Key) ?? Environment.GetEnvironmentVariable("MLOPS_FUNCTION_KEY");
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
            http.DefaultRequestHeaders.Add("x-functions-key", key);
        using var response = await http.GetAsync(path, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            string message = body;
            try
            {
                message = JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("message").GetString()
                    ?? body;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { }
            throw new MlopsException("batch.api", $"{(int)response.StatusCode} from {url}{path}: {message}");
        }
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<int> Guard(ParseResult pr, Func<TextWriter, Task> action)
    {
        var error = pr.InvocationConfiguration.Error;
        try
        {
            await action(pr.InvocationConfiguration.Output);
            return 0;
        }
        catch (MlopsException e)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        catch (HttpRequestException e)
        {
            await error.WriteLineAsync($"error: the app did not answer ({e.Message}); check --url");
            return 3;
        }
        catch (Core.Storage.StorageUnavailableException e)
        {
            await error.WriteLineAsync($"error: storage unavailable: {e.Message}");
            return 3;
        }
    }
}
