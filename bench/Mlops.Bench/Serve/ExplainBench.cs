using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Gbdt;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Mlops.Storage.InMemory;

namespace Mlops.Bench.Serve;

/// <summary>
/// <c>serve-explain [--seconds N] [--rounds R] [--rows N] [--in-process-only]</c>: what an explanation costs on
/// single-row predict. Model: the default GBDT (100 rounds, 31 leaves, our engine) on a synthetic 28-feature binary set
/// shaped like the peers'
/// <c>make_synth.py</c> (18 informative features, label noise). Two measures in one run:
/// (1) in process, one thread, <see cref="Model.TryPredict"/> against <see cref="ModelExplainer.TryExplain"/> on the
/// same rows, alternating 2,000-call blocks so the machine's load hits both alike — per-call p50/p99 and calls/s;
/// (2) over HTTP with wrk (the peers' load.sh: 2 threads, 32 connections), one server, the same 1-row body with and
/// without <c>"explain": true</c>, alternating R rounds. Prints markdown tables with load averages.
/// </summary>
public static class ExplainBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Arg(string name) =>
            Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int seconds = int.Parse(Arg("--seconds") ?? "8", CultureInfo.InvariantCulture);
        int rounds = int.Parse(Arg("--rounds") ?? "2", CultureInfo.InvariantCulture);
        int trainRows = int.Parse(Arg("--rows") ?? "19000", CultureInfo.InvariantCulture);
        string peers = Environment.GetEnvironmentVariable("MLOPS_PEERS_DIR") ?? "/work/shared/peers";
        string load = Path.Combine(peers, "load.sh");
        // --connections N: besides the peers' saturating load (32 connections), wrk with N connections — the latency
        // one client sees when the server is not queueing requests behind each other.
        int? fewConnections = Arg("--connections") is { } c ? int.Parse(c, CultureInfo.InvariantCulture) : null;

        var data = Synthetic(trainRows, seed: 7);
        var model = ModelTrainer
            .Train(
                data,
                new TrainingSpec("target", MlTask.Binary)
                {
                    Options = new Dictionary<string, object> { ["engine"] = "mlops" },
                }
            )
            .Model;
        var ensemble = (GbdtEnsemble)model.Predictor;
        int maxDepth = ensemble.Trees.Max(t => Depth(t, 0));
        Console.WriteLine(
            $"serve-explain: {Environment.ProcessorCount} cores; model: {model.InputSchema.Count} inputs, {ensemble.Trees.Count} trees, "
                + $"≤ {ensemble.Trees.Max(t => t.LeafValue.Length)} leaves, max depth {maxDepth}; load average at start {ServeBench.LoadAverage()}"
        );

        Console.WriteLine(InProcessTable(model, data));
        if (args.Contains("--in-process-only"))
            return 0;

        string work = Directory.CreateTempSubdirectory("mlops-explain-bench").FullName;
        string plainBody = ServeBench.Body(data, 1);
        string plain = Path.Combine(work, "plain.json"),
            explained = Path.Combine(work, "explain.json");
        File.WriteAllText(plain, plainBody);
        File.WriteAllText(explained, plainBody.Insert(plainBody.Length - 1, ",\"explain\":true"));
        static StorageServices Sink() =>
            new(
                new ServeBench.DiscardingAppendBlobStore(new InMemoryBlobStore()),
                new InMemoryQueueStore(),
                new InMemoryTableStore()
            );
        await using var server = await ServeBench.StartOursAsync(Sink(), Encoding.UTF8.GetBytes(model.ToJson()));
        await CheckAsync(server.Url, explained);

        var loads = new List<(string Label, string Script)> { ("32 conn", load) };
        if (fewConnections is int n)
            loads.Add(($"{n} conn", FewConnectionsScript(work, peers, n)));
        var table = new StringBuilder();
        table.AppendLine("| request (1 row, HTTP, wrk) | round | load avg | requests/s | p50 ms | p99 ms | non-2xx |");
        table.AppendLine("|---|---|---|---:|---:|---:|---:|");
        var results = new Dictionary<string, List<ServeBench.WrkResult>>();
        foreach (var (label, script) in loads)
            for (int r = 0; r < rounds; r++)
            {
                var order =
                    r % 2 == 0
                        ? new[] { ($"plain, {label}", plain), ($"explain, {label}", explained) }
                        : new[] { ($"explain, {label}", explained), ($"plain, {label}", plain) };
                foreach (var (name, body) in order)
                {
                    string avg = ServeBench.LoadAverage().Split(' ')[0];
                    var w = await ServeBench.WrkAsync(
                        script,
                        server.Url + "/api/models/bc-model/predict",
                        body,
                        seconds,
                        ServeBench.Key
                    );
                    if (w is null)
                        continue;
                    (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(w);
                    table.AppendLine(
                        $"| {name} | {r + 1} | {avg} | {w.Rps:N0} | {w.P50:F2} | {w.P99:F2} | {w.Non2xx} |"
                    );
                }
            }
        foreach (var (name, list) in results.Where(x => x.Value.Count > 0))
            table.AppendLine(
                $"| **{name}, median** | | | **{Median(list.Select(x => x.Rps)):N0}** | **{Median(list.Select(x => x.P50)):F2}** | **{Median(list.Select(x => x.P99)):F2}** | |"
            );
        Console.WriteLine(table);
        Console.WriteLine($"load average at end {ServeBench.LoadAverage()}");
        return 0;
    }

    /// <summary>A load script like the peers' load.sh (same request script, warm-up and output) with N
    /// connections.</summary>
    private static string FewConnectionsScript(string work, string peers, int connections)
    {
        string path = Path.Combine(work, $"load-{connections}.sh");
        string lua = Path.Combine(peers, "post.lua");
        int threads = Math.Min(2, connections);
        File.WriteAllText(
            path,
            $$"""
            #!/bin/sh
            set -eu
            url=$1; export BODY_FILE=$2; secs=${3:-15}
            wrk -t{{threads}} -c{{connections}} -d3s -s "{{lua}}" "$url" >/dev/null 2>&1 || true
            wrk -t{{threads}} -c{{connections}} -d"${secs}s" --timeout 5s --latency -s "{{lua}}" "$url" | grep '^WRKJSON'
            """
        );
        return path;
    }

    /// <summary>28 standard-normal features; the label depends non-linearly on the first 18 (5 % flipped), like
    /// make_classification's informative block.</summary>
    internal static DataTable Synthetic(int rows, int seed)
    {
        var rng = new Random(seed);
        var x = Enumerable.Range(0, 28).Select(_ => new double[rows]).ToArray();
        var y = new double[rows];
        var w = Enumerable.Range(0, 18).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < 28; j++)
                x[j][i] = Math.Round(Gaussian(rng), 5);
            double s = 0;
            for (int j = 0; j < 18; j++)
                s += w[j] * x[j][i];
            s += 0.8 * x[0][i] * x[1][i] - 0.6 * Math.Abs(x[2][i]) + 0.5 * Math.Sin(2 * x[3][i]);
            bool label = s > 0;
            if (rng.NextDouble() < 0.05)
                label = !label;
            y[i] = label ? 1 : 0;
        }
        var columns = x.Select((v, j) => Column.Numeric($"f{j}", v)).Append(Column.Numeric("target", y)).ToList();
        return new DataTable(columns);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static int Depth(RegressionTree t, int node) =>
        node < 0 || t.NodeCount == 0 ? 0 : 1 + Math.Max(Depth(t, t.Left[node]), Depth(t, t.Right[node]));

    /// <summary>One thread, alternating blocks of plain predictions and explanations over the same 1,000 JSON
    /// rows.</summary>
    private static string InProcessTable(Model model, DataTable data)
    {
        var docs = Enumerable.Range(0, 1000).Select(r => JsonDocument.Parse(RowJson(data, r))).ToArray();
        var explainer = ModelExplainer.For(model);
        const int Block = 2000,
            Blocks = 10;
        var plain = new List<double>();
        var explained = new List<double>();
        double plainSeconds = 0,
            explainSeconds = 0;
        // Warm up both paths (JIT, caches) before measuring.
        for (int i = 0; i < 2000; i++)
        {
            model.TryPredict(docs[i % docs.Length].RootElement, out _, out _);
            explainer.TryExplain(docs[i % docs.Length].RootElement, out _, out _);
        }
        for (int b = 0; b < Blocks; b++)
        {
            for (int pass = 0; pass < 2; pass++)
            {
                bool explain = (b + pass) % 2 == 1;
                var into = explain ? explained : plain;
                long blockStart = Stopwatch.GetTimestamp();
                for (int i = 0; i < Block; i++)
                {
                    var row = docs[(b * Block + i) % docs.Length].RootElement;
                    long t0 = Stopwatch.GetTimestamp();
                    bool ok = explain ? explainer.TryExplain(row, out _, out _) : model.TryPredict(row, out _, out _);
                    into.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    if (!ok)
                        throw new InvalidOperationException("a bench row did not score");
                }
                double s = Stopwatch.GetElapsedTime(blockStart).TotalSeconds;
                if (explain)
                    explainSeconds += s;
                else
                    plainSeconds += s;
            }
        }
        foreach (var d in docs)
            d.Dispose();
        string Row(string name, List<double> ms, double seconds) =>
            $"| {name} | {ms.Count:N0} | {Percentile(ms, 0.5):F3} | {Percentile(ms, 0.99):F3} | {ms.Max():F2} | {ms.Count / seconds:N0} |";
        return new StringBuilder()
            .AppendLine("| in process, 1 thread, 1 row | calls | p50 ms | p99 ms | max ms | calls/s |")
            .AppendLine("|---|---:|---:|---:|---:|---:|")
            .AppendLine(Row("predict (TryPredict)", plain, plainSeconds))
            .AppendLine(Row("explain (TryExplain: featurize + TreeSHAP)", explained, explainSeconds))
            .ToString();
    }

    private static string RowJson(DataTable data, int r)
    {
        var sb = new StringBuilder("{");
        foreach (var c in data.Columns.Where(c => c.Name != "target"))
            sb.Append('"')
                .Append(c.Name)
                .Append("\":")
                .Append(c.Numbers![r].ToString("R", CultureInfo.InvariantCulture))
                .Append(',');
        sb[^1] = '}';
        return sb.ToString();
    }

    private static async Task CheckAsync(string url, string explainBody)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add("x-functions-key", ServeBench.Key);
        var response = await client.PostAsync(
            url + "/api/models/bc-model/predict",
            new StringContent(File.ReadAllText(explainBody), Encoding.UTF8, "application/json")
        );
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || !text.Contains("\"contributions\"", StringComparison.Ordinal))
            throw new InvalidOperationException($"the explain request answered {(int)response.StatusCode}: {text}");
    }

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1
            ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
