using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mlops.Storage.Azure;

namespace Mlops.Testing.Chaos;

/// <summary>How hard to shake the system.</summary>
public sealed record ChaosOptions
{
    public int Runs { get; init; } = 20;
    public int Hosts { get; init; } = 2;

    /// <summary>A random host is SIGKILLed every this many seconds (uniform in [min, max]) and restarted a moment
    /// later.</summary>
    public (double Min, double Max) KillEverySeconds { get; init; } = (8, 20);

    /// <summary>Stop the storage emulator for this long once a third of the drops are in (zero: no outage).</summary>
    public TimeSpan Outage { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(8);
    public int Seed { get; init; } = 7;

    /// <summary>Called with the number of datasets promoted so far each time one is (the bench's progress
    /// display).</summary>
    public Action<int>? OnPromoted { get; init; }
}

/// <summary>What happened: every run should complete with exactly one model version and no lost blob.</summary>
public sealed record ChaosReport(
    int Runs,
    int Promoted,
    int Kills,
    int Duplicates,
    int Stuck,
    int LostBlobs,
    bool OutageDone,
    double Seconds,
    IReadOnlyList<string> Problems
);

/// <summary>
/// The fault suite: several host processes on one storage account (a persistent Azurite), datasets dropped one after
/// another, hosts SIGKILLed at random moments and restarted, and optionally storage stopped mid-run and started again.
/// Afterwards each dataset must have exactly one promoted model version, and every dropped blob and its dataset
/// version must still be in storage.
/// </summary>
public static class ChaosRun
{
    public static async Task<ChaosReport> RunAsync(
        ChaosOptions options,
        TextWriter log,
        CancellationToken cancellationToken = default
    )
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlops-chaos-" + Guid.NewGuid().ToString("N")[..8]);
        await using var azurite = await AzuriteInstance.StartAsync(dir, cancellationToken);
        // Run a private copy of the built host, so a rebuild during the (long) run cannot swap binaries under it.
        string dll = HostProcess.CopyHost(HostProcess.FindHostDll(), Path.Combine(dir, "host"));
        string worker = Path.GetDirectoryName(
            HostProcess.CopyHost(HostProcess.FindWorkerDll(), Path.Combine(dir, "worker"))
        )!;
        var hosts = Enumerable
            .Range(0, options.Hosts)
            .Select(i => new HostProcess(dll, azurite.ConnectionString, AzuriteInstance.FreePort(), $"host{i}")
            {
                AppDirectory = worker,
            })
            .ToList();
        var random = new Random(options.Seed);
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        var sw = Stopwatch.StartNew();
        int kills = 0;
        bool outageDone = options.Outage <= TimeSpan.Zero;
        try
        {
            foreach (var h in hosts)
                h.Start();
            await WaitAsync(
                async () => (await Task.WhenAll(hosts.Select(h => h.IsHealthyAsync()))).All(x => x),
                TimeSpan.FromSeconds(90),
                "hosts did not start"
            );

            var datasets = Enumerable.Range(0, options.Runs).Select(i => $"chaos-{i:D2}").ToList();
            var dropped = new Dictionary<string, byte[]>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var killer = Task.Run(
                async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await Task.Delay(
                            TimeSpan.FromSeconds(
                                options.KillEverySeconds.Min
                                    + random.NextDouble()
                                        * (options.KillEverySeconds.Max - options.KillEverySeconds.Min)
                            ),
                            stop.Token
                        );
                        var victim = hosts[random.Next(hosts.Count)];
                        await victim.KillAsync();
                        Interlocked.Increment(ref kills);
                        log.WriteLine($"{sw.Elapsed.TotalSeconds, 6:F1}s  SIGKILL {victim.Name}");
                        await Task.Delay(TimeSpan.FromMilliseconds(500 + random.Next(1000)), stop.Token);
                        victim.Start();
                    }
                },
                stop.Token
            );

            for (int i = 0; i < datasets.Count; i++)
            {
                byte[] csv = SyntheticCsv(300, options.Seed * 1000 + i);
                dropped[datasets[i]] = csv;
                await RetryAsync(() =>
                    storage.Blobs.WriteAsync(
                        "incoming",
                        $"{datasets[i]}/mlops.json",
                        """{"target":"label","task":"binary","trainer":"linear"}"""u8.ToArray()
                    )
                );
                await RetryAsync(() => storage.Blobs.WriteAsync("incoming", $"{datasets[i]}/data.csv", csv));
                log.WriteLine($"{sw.Elapsed.TotalSeconds, 6:F1}s  dropped {datasets[i]}");
                if (!outageDone && i == datasets.Count / 3)
                {
                    log.WriteLine(
                        $"{sw.Elapsed.TotalSeconds, 6:F1}s  storage outage for {options.Outage.TotalSeconds:F0} s"
                    );
                    await azurite.StopGracefullyAsync();
                    await Task.Delay(options.Outage, cancellationToken);
                    await azurite.RestartAsync(cancellationToken);
                    outageDone = true;
                    log.WriteLine($"{sw.Elapsed.TotalSeconds, 6:F1}s  storage back");
                }
                await Task.Delay(300, cancellationToken);
            }

            // Wait for every dataset to have a production model (asking whichever host is up).
            var deadline = DateTime.UtcNow + options.Timeout;
            var promoted = new HashSet<string>();
            while (promoted.Count < datasets.Count && DateTime.UtcNow < deadline)
            {
                foreach (string ds in datasets.Where(d => !promoted.Contains(d)).ToList())
                    if (await ProductionVersionAsync(hosts, ds) is not null)
                    {
                        promoted.Add(ds);
                        log.WriteLine(
                            $"{sw.Elapsed.TotalSeconds, 6:F1}s  {ds} promoted ({promoted.Count}/{datasets.Count})"
                        );
                        options.OnPromoted?.Invoke(promoted.Count);
                    }
                await Task.Delay(1000, cancellationToken);
            }
            stop.Cancel();
            try
            {
                await killer;
            }
            catch (OperationCanceledException) { }
            foreach (var h in hosts.Where(h => !h.IsRunning))
                h.Start();
            await WaitAsync(
                async () => (await Task.WhenAll(hosts.Select(h => h.IsHealthyAsync()))).Any(x => x),
                TimeSpan.FromSeconds(60),
                "no host came back"
            );

            var problems = new List<string>();
            int duplicates = 0,
                lost = 0;
            foreach (string ds in datasets)
            {
                int versions = await VersionCountAsync(hosts, ds);
                if (versions > 1)
                {
                    duplicates += versions - 1;
                    problems.Add($"{ds}: {versions} model versions for one data version");
                }
                var blob = await storage.Blobs.ReadAsync("incoming", $"{ds}/data.csv");
                string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(dropped[ds]));
                if (blob is null || !blob.Data.AsSpan().SequenceEqual(dropped[ds]))
                {
                    lost++;
                    problems.Add($"{ds}: the dropped blob is gone or changed");
                }
                else if (
                    promoted.Contains(ds)
                    && await storage.Blobs.GetInfoAsync("datasets", $"{ds}/{hash}/data.csv") is null
                )
                {
                    lost++;
                    problems.Add($"{ds}: the dataset version is missing");
                }
            }
            int stuck = datasets.Count - promoted.Count;
            problems.AddRange(
                datasets
                    .Where(d => !promoted.Contains(d))
                    .Select(d => $"{d}: no production model within {options.Timeout}")
            );
            return new ChaosReport(
                datasets.Count,
                promoted.Count,
                kills,
                duplicates,
                stuck,
                lost,
                outageDone,
                sw.Elapsed.TotalSeconds,
                problems
            );
        }
        finally
        {
            foreach (var h in hosts)
                await h.DisposeAsync();
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException) { }
        }
    }

    internal static async Task<int?> ProductionVersionAsync(List<HostProcess> hosts, string ds)
    {
        var model = await GetAsync(hosts, $"/api/models/{ds}");
        return
            model is { } m
            && m.TryGetProperty("state", out var s)
            && s.TryGetProperty("aliases", out var a)
            && a.TryGetProperty("production", out var p)
            ? p.GetInt32()
            : null;
    }

    internal static async Task<int> VersionCountAsync(List<HostProcess> hosts, string ds)
    {
        var model = await GetAsync(hosts, $"/api/models/{ds}");
        return model is { } m && m.TryGetProperty("versions", out var v) ? v.GetArrayLength() : 0;
    }

    private static async Task<JsonElement?> GetAsync(List<HostProcess> hosts, string path)
    {
        foreach (var h in hosts.Where(h => h.IsRunning))
        {
            try
            {
                using var http = new HttpClient
                {
                    BaseAddress = new Uri($"http://127.0.0.1:{h.Port}"),
                    Timeout = TimeSpan.FromSeconds(5),
                };
                http.DefaultRequestHeaders.Add("x-functions-key", HostProcess.FunctionKey);
                var response = await http.GetAsync(path);
                if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
                    return null;
                if (response.IsSuccessStatusCode)
                    return await response.Content.ReadFromJsonAsync<JsonElement>();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
        }
        return null;
    }

    /// <summary>Storage may be mid-outage: a client would retry, so the driver does too.</summary>
    private static async Task RetryAsync(Func<Task> write)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await write();
                return;
            }
            catch (Exception) when (attempt < 60)
            {
                await Task.Delay(1000);
            }
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(what);
            await Task.Delay(250);
        }
    }

    /// <summary>A small separable binary dataset: two informative features and one noise column.</summary>
    public static byte[] SyntheticCsv(int rows, int seed)
    {
        var r = new Random(seed);
        var sb = new StringBuilder("x1,x2,noise,label\n");
        for (int i = 0; i < rows; i++)
        {
            int label = i % 2;
            sb.Append(
                System.FormattableString.Invariant(
                    $"{label * 2 + r.NextDouble():F4},{label - r.NextDouble():F4},{r.NextDouble():F4},{label}\n"
                )
            );
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
