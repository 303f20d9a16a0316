using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mlops.Registry;
using Mlops.Storage.Azure;
using Mlops.Testing;

namespace Mlops.Bench.Batch;

/// <summary>
/// Batch scoring through the local host, as a user runs it: a private Azurite and the host, a model registered and
/// promoted, the CSV uploaded to <c>scoring/{model}/</c>, then the time from the upload's end to the job's completion
/// (the trigger's pick-up included). Prints one markdown row: rows, upload s, job s, rows/s, chunks, peak RSS of the
/// worker process (every activity of the job runs in it: the most memory the job needed at once).
/// usage: Mlops.Bench batch DATA.csv MODEL.json [CHUNK_ROWS]
/// </summary>
public static class BatchBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: Mlops.Bench batch DATA.csv MODEL.json [CHUNK_ROWS]");
            return 2;
        }
        string data = args[0],
            modelFile = args[1];
        int chunkRows =
            args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        await using var azurite = await AzuriteInstance.StartAsync();
        await using var host = await LocalHost.StartAsync(
            azurite.ConnectionString,
            AzuriteInstance.FreePort(),
            "batchbench"
        );
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        var registry = new ModelRegistry(storage.Blobs, storage.Tables);
        const string model = "synth";
        var v = await registry.RegisterAsync(
            new RegisterModelRequest(model, await File.ReadAllBytesAsync(modelFile), IdempotencyKey: "bench")
        );
        await registry.PromoteAsync(model, v.Version);
        await storage.Blobs.WriteAsync(
            "scoring",
            $"{model}/data.json",
            Encoding.UTF8.GetBytes($"{{\"chunkRows\":{chunkRows}}}")
        );

        var upload = Stopwatch.StartNew();
        await using (var file = File.OpenRead(data))
            await storage.Blobs.UploadAsync("scoring", $"{model}/data.csv", file);
        upload.Stop();
        var job = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.Port}") };
        http.DefaultRequestHeaders.Add("x-functions-key", "k1");
        JsonElement done = default;
        long peak = 0;
        while (job.Elapsed < TimeSpan.FromHours(2))
        {
            peak = Math.Max(peak, WorkerPeakKb(host.ProcessId));
            var list = await http.GetFromJsonAsync<JsonElement>($"/api/models/{model}/batch");
            var jobs = list.GetProperty("jobs").EnumerateArray().ToList();
            if (jobs.Count > 0 && jobs[0].GetProperty("status").GetString() is "Completed" or "Failed")
            {
                done = jobs[0];
                break;
            }
            await Task.Delay(200);
        }
        job.Stop();
        peak = Math.Max(peak, WorkerPeakKb(host.ProcessId));
        if (done.ValueKind == JsonValueKind.Undefined)
            throw new TimeoutException("The job did not finish within 2 hours.");
        if (done.GetProperty("status").GetString() != "Completed")
            throw new InvalidOperationException("The job failed: " + done);
        long rows = done.GetProperty("rowsScored").GetInt64();
        var detail = await http.GetFromJsonAsync<JsonElement>(
            $"/api/models/{model}/batch/{done.GetProperty("jobId").GetString()}"
        );
        Console.WriteLine(
            $"| batch job through the local host (chunkRows {chunkRows:N0}, {detail.GetProperty("parts").GetArrayLength()} chunks) "
                + $"| {File.ReadAllText("/proc/loadavg").Split(' ')[0]} | {rows:N0} | upload {upload.Elapsed.TotalSeconds:F1} s, job {job.Elapsed.TotalSeconds:F1} s "
                + $"| {rows / job.Elapsed.TotalSeconds:N0} | worker peak RSS {peak / 1024:N0} MB |"
        );
        // Where the time went: the manifest's own timing (orchestration start to finish) and each chunk activity's.
        var manifest = await storage.Blobs.ReadAsync(
            "predictions",
            detail.GetProperty("manifest").GetString()!["predictions/".Length..]
        );
        var m = JsonDocument.Parse(manifest!.Data).RootElement;
        var chunkSeconds = m.GetProperty("chunks")
            .EnumerateArray()
            .Select(c => c.GetProperty("seconds").GetDouble())
            .ToList();
        Console.WriteLine(
            $"|   breakdown | | | orchestration {m.GetProperty("seconds").GetDouble():F1} s; chunk activities: "
                + $"mean {chunkSeconds.Average():F1} s, max {chunkSeconds.Max():F1} s, sum {chunkSeconds.Sum():F1} s | | |"
        );
        return 0;
    }

    /// <summary>Peak RSS (VmHWM, kB) of the host's worker processes (its child processes), 0 when unknown.</summary>
    private static long WorkerPeakKb(int? hostPid)
    {
        if (hostPid is null || !OperatingSystem.IsLinux())
            return 0;
        long peak = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
                continue;
            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                var ppid = status.FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
                if (
                    ppid is null
                    || int.Parse(ppid[5..].Trim(), System.Globalization.CultureInfo.InvariantCulture) != hostPid
                )
                    continue;
                var hwm = status.FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (hwm is not null)
                    peak = Math.Max(
                        peak,
                        long.Parse(hwm[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)
                    );
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        }
        return peak;
    }
}
