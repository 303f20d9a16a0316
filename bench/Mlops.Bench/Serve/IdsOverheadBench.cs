using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Training;
using Mlops.Storage.InMemory;

namespace Mlops.Bench.Serve;

/// <summary>
/// <c>serve-ids [--seconds N] [--rounds R]</c>: what prediction ids cost on the predict path. Two servers of the same
/// build run side by side in this process — one as shipped (an id per row: generated, answered in
/// <c>predictionIds</c> and the header, written in the log line), one with ids switched off
/// (<c>ServingOptions.PredictionIdsEnabled</c>, internal) — both logging every prediction to a discarding sink; wrk
/// (the peers' load.sh: 2 threads, 32 connections) loads them alternately, R rounds each, for 1-row and 100-row
/// requests. The predict handler is also called in process without sockets, alternating in short blocks (the low-noise
/// figure on a shared machine). Then the ids' own work is timed in process (id generation and the two JSON arrays) per
/// request, a low-noise figure to set against the measured time per request. Prints a markdown table with load
/// averages.
/// </summary>
public static class IdsOverheadBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Arg(string name) =>
            Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int seconds = int.Parse(Arg("--seconds") ?? "10", CultureInfo.InvariantCulture);
        int rounds = int.Parse(Arg("--rounds") ?? "3", CultureInfo.InvariantCulture);
        string root = ServeBench.RepoRoot();
        string load = Path.Combine(
            Environment.GetEnvironmentVariable("MLOPS_PEERS_DIR") ?? "/work/shared/peers",
            "load.sh"
        );
        var data = CsvTableReader.ReadFile(Path.Combine(root, "tests", "data", "sk_breast_cancer.csv"));
        var trained = ModelTrainer.Train(
            data,
            new TrainingSpec("target", MlTask.Binary)
            {
                Options = new Dictionary<string, object> { ["num_rounds"] = 100 },
            }
        );
        byte[] modelFile = Encoding.UTF8.GetBytes(trained.Model.ToJson());
        string work = Directory.CreateTempSubdirectory("mlops-ids-bench").FullName;
        var bodies = new[] { 1, 100 }.ToDictionary(
            n => n,
            n =>
            {
                string f = Path.Combine(work, $"rows{n}.json");
                File.WriteAllText(f, ServeBench.Body(data, n));
                return f;
            }
        );

        Console.WriteLine(
            $"serve-ids: {Environment.ProcessorCount} cores, wrk 2 threads / 32 connections, {seconds} s per run after 3 s warm-up, {rounds} alternating rounds; load average at start {ServeBench.LoadAverage()}"
        );
        static StorageServices Sink() =>
            new(
                new ServeBench.DiscardingAppendBlobStore(new InMemoryBlobStore()),
                new InMemoryQueueStore(),
                new InMemoryTableStore()
            );
        await using var withIds = await ServeBench.StartOursAsync(Sink(), modelFile);
        await using var withoutIds = await ServeBench.StartOursAsync(Sink(), modelFile, configure: o =>
            o.PredictionIdsEnabled = false
        );
        await CheckAsync(withIds.Url, expectIds: true);
        await CheckAsync(withoutIds.Url, expectIds: false);

        var (handlerTable, handlerMicros) = await HandlerTableAsync(withIds, withoutIds, bodies);
        Console.WriteLine(handlerTable);

        var table = new StringBuilder();
        table.AppendLine("| request | round | load avg | with ids req/s | without ids req/s | ids cost |");
        table.AppendLine("|---|---|---|---|---|---|");
        foreach (var (rows, body) in bodies)
        {
            var on = new List<double>();
            var off = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                string avg = ServeBench.LoadAverage().Split(' ')[0];
                // Alternate which goes first so a trend in the machine's load does not favour one side.
                var order =
                    r % 2 == 0
                        ? new[] { (withIds, on), (withoutIds, off) }
                        : new[] { (withoutIds, off), (withIds, on) };
                foreach (var (server, into) in order)
                    into.Add(
                        (
                            await ServeBench.WrkAsync(
                                load,
                                server.Url + "/api/models/bc-model/predict",
                                body,
                                seconds,
                                ServeBench.Key
                            )
                        )?.Rps
                            ?? double.NaN
                    );
                table.AppendLine(
                    $"| {rows} row{(rows > 1 ? "s" : "")} | {r + 1} | {avg} | {on[^1]:N0} | {off[^1]:N0} | {Cost(on[^1], off[^1])} |"
                );
            }
            var paired = on.Zip(off, (w, wo) => (wo - w) / wo).ToList();
            table.AppendLine(
                $"| {rows} row{(rows > 1 ? "s" : "")} | **median** | | **{Median(on):N0}** | **{Median(off):N0}** | **{Median(paired):P1}** (median of the rounds' pairs) |"
            );
        }
        Console.WriteLine(table);
        foreach (var (rows, requestMicros) in handlerMicros)
        {
            // Against the handler alone (no Kestrel, no sockets), so the share of a whole request is smaller still.
            double idMicros = InProcessIdMicros(rows);
            Console.WriteLine(
                $"in process, {rows} row(s): the ids' own work takes {idMicros:F2} µs per request (generate {rows} id(s), write them in the response and the log line) = {idMicros / requestMicros:P2} of the handler's {requestMicros:F1} µs per request with ids"
            );
        }
        Console.WriteLine($"load average at end {ServeBench.LoadAverage()}");
        return 0;
    }

    /// <summary>
    /// The predict handler itself (parse, validate, ids, predict, answer, log line) called in process on one thread
    /// with an in-memory request, no sockets: 40 alternating blocks of 300 ms per side and size. On a shared machine
    /// the other processes slow both sides of a pair alike, so the median of the paired ratios is the robust figure.
    /// </summary>
    private static async Task<(string Table, Dictionary<int, double> MicrosWithIds)> HandlerTableAsync(
        ServeBench.Server withIds,
        ServeBench.Server withoutIds,
        Dictionary<int, string> bodies
    )
    {
        var on = withIds.App.Services.GetRequiredService<Mlops.Serving.PredictHandler>();
        var off = withoutIds.App.Services.GetRequiredService<Mlops.Serving.PredictHandler>();
        var micros = new Dictionary<int, double>();
        var sb = new StringBuilder();
        sb.AppendLine(
            "| request | load avg | with ids µs/request (median) | without ids µs/request (median) | ids cost (median of 40 paired blocks) | IQR of the paired cost |"
        );
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var (rows, file) in bodies)
        {
            byte[] body = File.ReadAllBytes(file);
            if (await CallAsync(on, body) != 200 || await CallAsync(off, body) != 200)
                throw new InvalidOperationException("the handler did not answer 200");
            for (int i = 0; i < 200; i++)
            {
                await CallAsync(on, body);
                await CallAsync(off, body);
            } // warm-up (JIT tiers)
            string load = ServeBench.LoadAverage().Split(' ')[0];
            var withTimes = new List<double>();
            var withoutTimes = new List<double>();
            var costs = new List<double>();
            for (int block = 0; block < 40; block++)
            {
                bool onFirst = block % 2 == 0;
                double a = await BlockAsync(onFirst ? on : off, body),
                    b = await BlockAsync(onFirst ? off : on, body);
                double w = onFirst ? a : b,
                    wo = onFirst ? b : a;
                withTimes.Add(w);
                withoutTimes.Add(wo);
                costs.Add((w - wo) / wo);
            }
            costs.Sort();
            micros[rows] = Median(withTimes);
            sb.AppendLine(
                $"| {rows} row{(rows > 1 ? "s" : "")} | {load} | {Median(withTimes):F1} | {Median(withoutTimes):F1} | {Median(costs):P1} | {costs[10]:P1} … {costs[29]:P1} |"
            );
        }
        return (sb.ToString(), micros);
    }

    private static async Task<double> BlockAsync(Mlops.Serving.PredictHandler handler, byte[] body)
    {
        int n = 0;
        var sw = Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 300)
        {
            await CallAsync(handler, body);
            n++;
        }
        return sw.Elapsed.TotalMicroseconds / n;
    }

    private static async Task<int> CallAsync(Mlops.Serving.PredictHandler handler, byte[] body)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = body.Length;
        context.Request.Body = new MemoryStream(body, writable: false);
        context.Response.Body = Stream.Null;
        await handler.HandleAsync(context, "bc-model");
        return context.Response.StatusCode;
    }

    private static string Cost(double with, double without) =>
        double.IsNaN(with) || double.IsNaN(without) ? "–" : $"{(without - with) / without:P1}";

    private static double Median(List<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).Order().ToArray();
        return v.Length == 0 ? double.NaN
            : v.Length % 2 == 1 ? v[v.Length / 2]
            : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static async Task CheckAsync(string url, bool expectIds)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add("x-functions-key", ServeBench.Key);
        var data = CsvTableReader.ReadFile(
            Path.Combine(ServeBench.RepoRoot(), "tests", "data", "sk_breast_cancer.csv")
        );
        var response = await client.PostAsync(
            url + "/api/models/bc-model/predict",
            new StringContent(ServeBench.Body(data, 2), Encoding.UTF8, "application/json")
        );
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        bool hasIds = doc.RootElement.TryGetProperty("predictionIds", out _);
        if (!response.IsSuccessStatusCode || hasIds != expectIds)
            throw new InvalidOperationException(
                $"{url}: status {(int)response.StatusCode}, predictionIds present {hasIds}, expected {expectIds}."
            );
    }

    /// <summary>Microseconds per request of the ids' own work: generate one per row, write the array into two JSON
    /// documents.</summary>
    private static double InProcessIdMicros(int rows)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using var writer = new Utf8JsonWriter(buffer);
        var name = JsonEncodedText.Encode("predictionIds");
        var ids = new string[rows];
        const int N = 200_000;
        double best = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < N / rows; i++)
            {
                var at = DateTimeOffset.UtcNow;
                for (int k = 0; k < rows; k++)
                    ids[k] = PredictionIds.New(at);
                for (int doc = 0; doc < 2; doc++)
                {
                    buffer.ResetWrittenCount();
                    writer.Reset(buffer);
                    writer.WriteStartObject();
                    writer.WriteStartArray(name);
                    foreach (var id in ids)
                        writer.WriteStringValue(id);
                    writer.WriteEndArray();
                    writer.WriteEndObject();
                    writer.Flush();
                }
            }
            best = Math.Min(best, sw.Elapsed.TotalMicroseconds / (N / rows));
        }
        return best;
    }
}
