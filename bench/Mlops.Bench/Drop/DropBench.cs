using System.Diagnostics;
using System.Text;
using Mlops.Registry;
using Mlops.Storage.Azure;

namespace Mlops.Bench.Drop;

/// <summary>
/// Drop-to-production latency as a user sees it: the host (local runner, DTFx engine) on a private Azurite, a
/// 5,000-row diamonds CSV written with a plain storage client, the time until the model is the production alias.
/// Usage: <c>drop [--runs N]</c>; the first run includes JIT and task hub creation and is reported apart.
/// </summary>
public static class DropBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int runs = Array.IndexOf(args, "--runs") is int i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : 5;
        string csv = string.Join('\n', File.ReadLines(FindDiamonds()).Take(5001)) + "\n";
        await using var azurite = await Mlops.Testing.AzuriteInstance.StartAsync();
        var app = await LocalHost.StartAsync(
            azurite.ConnectionString,
            Mlops.Testing.AzuriteInstance.FreePort(),
            "dropbench"
        );
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        var registry = new ModelRegistry(storage.Blobs, storage.Tables);
        var times = new List<double>();
        for (int r = 0; r <= runs; r++)
        {
            string ds = $"diamonds-{r}";
            await storage.Blobs.WriteAsync(
                "incoming",
                $"{ds}/mlops.json",
                """{"target":"price","task":"regression"}"""u8.ToArray()
            );
            var sw = Stopwatch.StartNew();
            await storage.Blobs.WriteAsync("incoming", $"{ds}/data.csv", Encoding.UTF8.GetBytes(csv));
            while ((await registry.TryGetStateAsync(ds))?.Aliases.ContainsKey("production") != true)
            {
                if (sw.Elapsed > TimeSpan.FromMinutes(3))
                    throw new TimeoutException($"{ds} was not promoted within 3 minutes.");
                await Task.Delay(50);
            }
            if (r > 0)
                times.Add(sw.Elapsed.TotalSeconds);
            Console.WriteLine(
                $"{ds}: production after {sw.Elapsed.TotalSeconds:F2} s{(r == 0 ? " (first run: JIT, task hub creation)" : "")}"
            );
        }
        await app.DisposeAsync();
        times.Sort();
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        Console.WriteLine(
            $"\n| drop → production, 5,000-row diamonds CSV (regression, auto trainer) | median {times[times.Count / 2]:F2} s, best {times[0]:F2} s, worst {times[^1]:F2} s over {times.Count} runs | target < 5 s | load {load} |"
        );
        return 0;
    }

    /// <summary>
    /// The shared datasets folder sits next to the main checkout (../shared); worktrees live one level deeper, so the
    /// nearest <c>shared/datasets/diamonds.csv</c> above the repository wins.
    /// </summary>
    private static string FindDiamonds()
    {
        for (var dir = new DirectoryInfo(Durable.DurableBench.FindRepoRoot()); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "datasets", "diamonds.csv");
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException("shared/datasets/diamonds.csv was not found above the repository.");
    }
}
