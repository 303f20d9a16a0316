using System.Diagnostics;
using System.Text.Json;
using Mlops.Storage.Azure;
using Mlops.Tracking;

namespace Mlops.Bench.Tracking;

/// <summary>
/// The runs API at scale: the host on a private Azurite with 1,000 then 10,000 indexed runs (50 trials per pipeline,
/// 8 params, 8 metrics, a curve summary each), timing what the runs page asks: the listing (default page of 100 and
/// all rows), a filtered and sorted listing, and groups. Usage: <c>tracking [--requests N]</c>.
/// </summary>
public static class TrackingBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int requests =
            Array.IndexOf(args, "--requests") is int i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : 20;
        await using var azurite = await Mlops.Testing.AzuriteInstance.StartAsync();
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        // Runs recorded an hour ago: a host's refresh then reads no feed rows, as in steady state between sweeps.
        var index = new RunIndex(storage.Blobs, storage.Tables, new PastClock(TimeSpan.FromHours(1)));

        Console.WriteLine("| indexed runs | request | rows returned | p50 ms | p95 ms | max ms | load average |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        int written = 0;
        foreach (int target in new[] { 1_000, 10_000 })
        {
            var insert = Stopwatch.StartNew();
            await index.WriteManyAsync(Enumerable.Range(written, target - written).Select(Synthetic));
            Console.Error.WriteLine($"indexed {target - written} runs in {insert.Elapsed.TotalSeconds:F1} s");
            written = target;

            // A fresh host per size: its first listing scans the index table (reported on its own), later ones use the
            // snapshot.
            int port = Mlops.Testing.AzuriteInstance.FreePort();
            var app = await LocalHost.StartAsync(azurite.ConnectionString, port, "trackbench");
            using var http = new HttpClient
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
                Timeout = TimeSpan.FromMinutes(2),
            };
            http.DefaultRequestHeaders.Add("x-functions-key", "k1");
            var cold = Stopwatch.StartNew();
            var first = await GetAsync(http, "/api/runs");
            Console.WriteLine(
                $"| {target:N0} | cold: first list after host start (table scan + JIT) | {Rows(first):N0} | {cold.Elapsed.TotalMilliseconds:F0} | | | {Load()} |"
            );
            foreach (
                var (name, path) in new[]
                {
                    ("list, first page (100)", "/api/runs"),
                    ("list, all rows", $"/api/runs?limit={target}"),
                    (
                        "filter + sort, first page",
                        "/api/runs?filter="
                            + Uri.EscapeDataString("metrics.auc > 0.9 and params.num_leaves < 64")
                            + "&orderBy="
                            + Uri.EscapeDataString("metrics.auc desc")
                    ),
                    ("groups by params.num_leaves", "/api/runs/groups?by=params.num_leaves"),
                }
            )
            {
                int rows = Rows(await GetAsync(http, path)); // warms this route
                var times = new List<double>();
                for (int r = 0; r < requests; r++)
                {
                    var sw = Stopwatch.StartNew();
                    await GetAsync(http, path);
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }
                times.Sort();
                Console.WriteLine(
                    $"| {target:N0} | {name} | {rows:N0} | {P(times, 0.5):F0} | {P(times, 0.95):F0} | {times[^1]:F0} | {Load()} |"
                );
            }
            await app.DisposeAsync();
        }
        return 0;
    }

    private static async Task<byte[]> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    private sealed class PastClock(TimeSpan ago) : Mlops.Core.IClock
    {
        public DateTimeOffset UtcNow => DateTimeOffset.UtcNow - ago;
    }

    private static int Rows(byte[] body)
    {
        var root = JsonDocument.Parse(body).RootElement;
        return root.TryGetProperty("runs", out var runs)
            ? runs.GetArrayLength()
            : root.GetProperty("groups").GetArrayLength();
    }

    private static RunRecord Synthetic(int n)
    {
        var rng = new Random(n);
        string pipeline = $"train-bench-{n / 50:D5}";
        int leaves = new[] { 15, 31, 63, 127 }[rng.Next(4)];
        double auc = 0.85 + rng.NextDouble() * 0.1;
        var p = new Dictionary<string, object>
        {
            ["num_leaves"] = leaves,
            ["learning_rate"] = Math.Round(0.01 + rng.NextDouble() * 0.3, 4),
            ["num_rounds"] = 200,
            ["min_data_in_leaf"] = rng.Next(5, 50),
            ["feature_fraction"] = Math.Round(0.5 + rng.NextDouble() * 0.5, 3),
            ["lambda_l2"] = Math.Round(rng.NextDouble() * 10, 3),
            ["max_bin"] = 255,
            ["seed"] = 42,
        };
        return new RunRecord
        {
            RunId = $"{pipeline}-t{n % 50}",
            Pipeline = pipeline,
            Trial = n % 50,
            Dataset = $"ds-{n / 2000}",
            SweepMethod = "random",
            Trainer = "gbdt",
            Task = "binary",
            CreatedAt = DateTimeOffset.UtcNow.AddMinutes(-n),
            TrainSeconds = rng.NextDouble() * 30,
            PrimaryMetric = "auc",
            HigherIsBetter = true,
            Params = JsonSerializer
                .SerializeToElement(p)
                .EnumerateObject()
                .ToDictionary(e => e.Name, e => e.Value.Clone()),
            Metrics = new()
            {
                ["auc"] = auc,
                ["pr_auc"] = auc - 0.02,
                ["accuracy"] = auc - 0.05,
                ["logloss"] = 1 - auc,
                ["f1"] = auc - 0.06,
                ["precision"] = auc - 0.04,
                ["recall"] = auc - 0.07,
                ["brier"] = (1 - auc) / 3,
            },
            Curves = new() { ["logloss"] = new CurveSummary(0.2, 0.22, 0.2, 0.69, rng.Next(50, 200)) },
        };
    }

    private static double P(List<double> sorted, double q) =>
        sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    private static string Load() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
