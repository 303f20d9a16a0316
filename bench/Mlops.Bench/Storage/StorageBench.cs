using System.Diagnostics;
using Mlops.Core.Storage;
using Mlops.Storage.Azure;

namespace Mlops.Bench.Storage;

/// <summary>
/// Storage round trips through the ports on a private in-memory Azurite: blob write+read (1 KB), table insert+get,
/// queue enqueue+dequeue+delete, each sequential (latency) and with 8 concurrent callers (throughput).
/// Usage: <c>storage [--quick] [--label NAME]</c>. Uses only <see cref="AzureStorageAccount.Connect"/> and the ports,
/// so the same file also builds against the previous adapters (WindowsAzure.Storage) for a before/after table.
/// </summary>
public static class StorageBench
{
    private const int Concurrency = 8;

    public static async Task<int> RunAsync(string[] args)
    {
        bool quick = args.Contains("--quick");
        int labelIndex = Array.IndexOf(args, "--label");
        string label =
            labelIndex >= 0 && labelIndex + 1 < args.Length
                ? args[labelIndex + 1]
                : "Azure.Storage.* / Azure.Data.Tables";
        int n = quick ? 200 : 1000;
        await using var azurite = await Mlops.Testing.AzuriteInstance.StartAsync();
        StorageServices storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        var payload = new byte[1024];
        new Random(42).NextBytes(payload);

        var cases = new (string Name, Func<int, Task> Cycle)[] { ("blob write+read 1 KB", async i =>
            {
                await storage.Blobs.WriteAsync("bench", $"b/{i % 256}", payload);
                _ = await storage.Blobs.ReadAsync("bench", $"b/{i % 256}");
            }), ("table insert+get", async i =>
            {
                string key = $"{i:D8}-{Guid.NewGuid():N}";
                await storage.Tables.InsertAsync(
                    "bench",
                    new TableRow("p" + (i % 16), key) { ["v"] = (long)i, ["s"] = "x" }
                );
                _ = await storage.Tables.GetAsync("bench", "p" + (i % 16), key);
            }), ("queue enqueue+dequeue+delete", async i =>
            {
                string queue = "bench-" + (i % Concurrency); // one queue per caller, so a cycle dequeues its own message
                await storage.Queues.EnqueueAsync(queue, "m" + i);
                var got = await storage.Queues.DequeueAsync(queue, 1, TimeSpan.FromSeconds(30));
                foreach (var m in got)
                    await storage.Queues.DeleteAsync(queue, m);
            }) };

        // Warm-up: JIT, connections, and the lazily created container/table/queues.
        foreach (var (_, cycle) in cases)
            for (int i = 0; i < 2 * Concurrency; i++)
                await cycle(i);

        Console.WriteLine($"## Storage round trips on Azurite — {label}");
        Console.WriteLine();
        Console.WriteLine(
            $"load average: {File.ReadAllText("/proc/loadavg").Trim()}   ({Environment.ProcessorCount} cores, n={n} cycles per row)"
        );
        Console.WriteLine();
        Console.WriteLine(
            "| cycle | sequential cycles/s | p50 ms | p99 ms | 8 callers cycles/s | client CPU µs/cycle |"
        );
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, cycle) in cases)
        {
            // Client CPU per cycle is the SDK's own cost; unlike wall time it barely moves when other processes load
            // the machine.
            TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var (rate, p50, p99) = await SequentialAsync(cycle, n);
            double cpuMicros = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / n;
            double parallelRate = await ParallelAsync(cycle, n);
            Console.WriteLine($"| {name} | {rate:F0} | {p50:F2} | {p99:F2} | {parallelRate:F0} | {cpuMicros:F0} |");
        }
        Console.WriteLine();
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    private static async Task<(double Rate, double P50, double P99)> SequentialAsync(Func<int, Task> cycle, int n)
    {
        var latencies = new double[n];
        var total = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await cycle(i);
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        double rate = n / total.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return (rate, latencies[n / 2], latencies[Math.Min(n - 1, (int)(n * 0.99))]);
    }

    private static async Task<double> ParallelAsync(Func<int, Task> cycle, int n)
    {
        var total = Stopwatch.StartNew();
        await Task.WhenAll(
            Enumerable
                .Range(0, Concurrency)
                .Select(worker =>
                    Task.Run(async () =>
                    {
                        // Caller w runs cycles w, w+8, w+16, … so the queue case stays on the caller's own queue.
                        for (int k = 0; k < n / Concurrency; k++)
                            await cycle(k * Concurrency + worker);
                    })
                )
        );
        return n / Concurrency * Concurrency / total.Elapsed.TotalSeconds;
    }
}
