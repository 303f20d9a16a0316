using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;

namespace Mlops.Host.Hosting;

/// <summary>
/// <c>--demo</c>: drops the bundled breast-cancer dataset (with its mlops.json) into <c>incoming/breast-cancer/</c>,
/// follows the training run through the app's own HTTP API (as a user would, with the function key) printing each stage
/// change, then prints a prediction request to try.
/// </summary>
public static class Demo
{
    public const string Dataset = "breast-cancer";

    /// <summary>
    /// Drops the dataset and follows its run. <paramref name="printKey"/> puts the function key into the printed
    /// request; only for the storage emulator (<see cref="Banner.IsEmulator"/>): on a real account the console ends up
    /// in logs, so the request names the setting instead.
    /// </summary>
    public static async Task RunAsync(
        LocalFunctionsHost host,
        TextWriter output,
        bool printKey,
        CancellationToken cancellationToken = default
    )
    {
        string dir = Path.Combine(host.Context.AppDirectory, "Demo");
        string csvPath = Path.Combine(dir, "breast-cancer.csv"),
            configPath = Path.Combine(dir, "mlops.json");
        if (!File.Exists(csvPath) || !File.Exists(configPath))
        {
            output.WriteLine($"demo: {dir} has no breast-cancer.csv and mlops.json; nothing to drop.");
            return;
        }
        var incoming = new BlobServiceClient(host.Context.StorageConnectionString).GetBlobContainerClient("incoming");
        await incoming.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        // mlops.json first: the data file's trigger reads the dataset's settings.
        await incoming
            .GetBlobClient($"{Dataset}/mlops.json")
            .UploadAsync(configPath, overwrite: true, cancellationToken);
        byte[] csv = await File.ReadAllBytesAsync(csvPath, cancellationToken);
        await incoming
            .GetBlobClient($"{Dataset}/breast-cancer.csv")
            .UploadAsync(new BinaryData(csv), overwrite: true, cancellationToken);
        output.WriteLine(
            $"demo: dropped incoming/{Dataset}/breast-cancer.csv ({csv.Length:N0} bytes) and mlops.json; following the run..."
        );

        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("x-functions-key", host.FunctionKey);
        string? instanceId = null,
            last = null;
        var deadline = DateTime.UtcNow.AddMinutes(15);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(1000, cancellationToken);
            if (instanceId is null)
            {
                var runs = await GetJsonAsync(http, $"api/pipelines/{Dataset}/runs", cancellationToken);
                if (runs is { } r && r.TryGetProperty("runs", out var list) && list.ValueKind == JsonValueKind.Array)
                    instanceId = list.EnumerateArray()
                        .Select(x => x.TryGetProperty("instanceId", out var id) ? id.GetString() : null)
                        .FirstOrDefault(id => id is not null);
                if (instanceId is not null)
                    output.WriteLine($"demo: run {instanceId} started");
                continue;
            }
            if (
                await GetJsonAsync(http, $"api/orchestrations/{Uri.EscapeDataString(instanceId)}", cancellationToken)
                is not { } state
            )
                continue;
            string status = Text(state, "runtimeStatus") ?? "?";
            string stage = Text(state, "customStatus") ?? "";
            string now = $"{status} {stage}".Trim();
            if (now != last)
                output.WriteLine($"demo: {now}");
            last = now;
            if (status is "Completed" or "Failed" or "Terminated")
            {
                if (status == "Completed")
                {
                    string row = FirstRowJson(Encoding.UTF8.GetString(csv), "target");
                    output.WriteLine("demo: try a prediction:");
                    output.WriteLine(TryRequest(host.BaseAddress, row, printKey ? host.FunctionKey : null));
                }
                return;
            }
        }
        output.WriteLine("demo: the run did not finish within 15 minutes.");
    }

    private static async Task<JsonElement?> GetJsonAsync(
        HttpClient http,
        string path,
        CancellationToken cancellationToken
    )
    {
        using var response = await http.GetAsync(path, cancellationToken);
        if (!response.IsSuccessStatusCode)
            return null;
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                JsonValueKind.Object when v.TryGetProperty("stage", out var s) => s.ToString(),
                _ => v.GetRawText(),
            }
            : null;

    /// <summary>
    /// The example prediction request (a curl line) for <paramref name="row"/>; with no <paramref name="functionKey"/>
    /// it reads the key from <c>$MLOPS_FUNCTION_KEY</c> in the user's shell rather than printing it.
    /// </summary>
    public static string TryRequest(Uri baseAddress, string row, string? functionKey)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        string url = new Uri(baseAddress, $"api/models/{Dataset}/predict").ToString();
        string key = functionKey ?? "$MLOPS_FUNCTION_KEY";
        return $"  curl -s -X POST -H \"x-functions-key: {key}\" -H \"content-type: application/json\" {url} -d '{{\"rows\":[{row}]}}'";
    }

    /// <summary>The first data row as a JSON object without the label, for the printed example request.</summary>
    public static string FirstRowJson(string csv, string target)
    {
        var lines = csv.Split('\n', 3);
        var header = lines[0].TrimEnd('\r').Split(',');
        var values = lines[1].TrimEnd('\r').Split(',');
        var row = new Dictionary<string, object>();
        for (int i = 0; i < header.Length && i < values.Length; i++)
            if (header[i] != target)
                row[header[i]] = double.TryParse(
                    values[i],
                    System.Globalization.CultureInfo.InvariantCulture,
                    out double d
                )
                    ? d
                    : values[i];
        return JsonSerializer.Serialize(row);
    }
}
