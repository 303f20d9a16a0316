using System.Diagnostics;
using Azure.Data.Tables;
using Mlops.Storage.Azure;

namespace Mlops.Testing.Chaos;

/// <summary>What to SIGKILL once the runs are in flight.</summary>
public enum KillTarget
{
    /// <summary>The first host's worker process alone: the host restarts it.</summary>
    Worker,

    /// <summary>The first host's whole process group (host and worker): it stays dead, the second host takes
    /// over.</summary>
    HostGroup,
}

/// <summary>How the single-kill scenario went.</summary>
/// <param name="Runs">Datasets dropped.</param>
/// <param name="InFlightAtKill">Orchestration instances not finished when the kill landed.</param>
/// <param name="ResumedAfterSeconds">Time from the kill until every one of them had moved again (or finished); null if
/// some never did.</param>
/// <param name="Promoted">Datasets with a production model at the end.</param>
/// <param name="Duplicates">Extra model versions (a dataset version must give exactly one).</param>
/// <param name="Seconds">Wall time of the whole scenario.</param>
/// <param name="Problems">Everything that broke a promise, in words.</param>
public sealed record KillOnceReport(
    int Runs,
    int InFlightAtKill,
    double? ResumedAfterSeconds,
    int Promoted,
    int Duplicates,
    double Seconds,
    IReadOnlyList<string> Problems
);

/// <summary>
/// One SIGKILL while runs are in flight, timed: two host processes on one storage account, <c>runs</c> datasets dropped
/// at once, then either the first host's worker or its whole process group is killed. "Resumed" is read from the task
/// hub's Instances table (DTFx rewrites an instance's LastUpdatedTime at every checkpoint): the time until every
/// instance that was unfinished at the kill has checkpointed again. Afterwards each dataset must have exactly one model
/// version.
/// </summary>
public static class KillOnceRun
{
    /// <summary>The app's task hub (host.json <c>extensions.durableTask.hubName</c>).</summary>
    public const string TaskHub = "mlops";

    /// <summary>The orchestrator a drop starts (TrainingPipeline.Name); other instances (monitoring) are not the
    /// runs.</summary>
    public const string PipelineOrchestrator = "TrainingPipeline";

    /// <summary>Runs the scenario; <paramref name="log"/> gets a timeline.</summary>
    public static async Task<KillOnceReport> RunAsync(
        KillTarget target,
        int runs,
        TextWriter log,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default
    )
    {
        var limit = timeout ?? TimeSpan.FromMinutes(4);
        string dir = Path.Combine(Path.GetTempPath(), "mlops-kill-" + Guid.NewGuid().ToString("N")[..8]);
        await using var azurite = await AzuriteInstance.StartAsync(dir, cancellationToken);
        string dll = HostProcess.CopyHost(HostProcess.FindHostDll(), Path.Combine(dir, "host"));
        string worker = Path.GetDirectoryName(
            HostProcess.CopyHost(HostProcess.FindWorkerDll(), Path.Combine(dir, "worker"))
        )!;
        var hosts = Enumerable
            .Range(0, 2)
            .Select(i => new HostProcess(dll, azurite.ConnectionString, AzuriteInstance.FreePort(), $"host{i}")
            {
                AppDirectory = worker,
            })
            .ToList();
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        var instances = new TableClient(azurite.ConnectionString, TaskHub + "Instances");
        var sw = Stopwatch.StartNew();
        var problems = new List<string>();
        try
        {
            foreach (var h in hosts)
                h.Start();
            foreach (var h in hosts)
                await h.WaitHealthyAsync(TimeSpan.FromSeconds(120));
            log.WriteLine($"{sw.Elapsed.TotalSeconds, 6:F1}s  two hosts up");

            var datasets = Enumerable
                .Range(0, runs)
                .Select(i => $"kill-{target.ToString().ToLowerInvariant()}-{i:D2}")
                .ToList();
            foreach (var (ds, i) in datasets.Select((d, i) => (d, i)))
            {
                await storage.Blobs.WriteAsync(
                    "incoming",
                    $"{ds}/mlops.json",
                    """{"target":"label","task":"binary","trainer":"linear"}"""u8.ToArray()
                );
                await storage.Blobs.WriteAsync("incoming", $"{ds}/data.csv", ChaosRun.SyntheticCsv(300, 100 + i));
            }
            log.WriteLine($"{sw.Elapsed.TotalSeconds, 6:F1}s  dropped {runs} datasets");

            // Kill once most runs have an instance that is still going: mid-run, not before or after.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            Dictionary<string, DateTimeOffset> unfinished;
            while (
                (unfinished = await UnfinishedAsync(instances, cancellationToken)).Count < Math.Max(1, runs / 2)
                && DateTime.UtcNow < deadline
            )
                await Task.Delay(100, cancellationToken);
            var killedAt = DateTimeOffset.UtcNow;
            unfinished = await UnfinishedAsync(instances, cancellationToken);
            if (target == KillTarget.Worker)
                await hosts[0].KillWorkerAsync();
            else
                await hosts[0].KillAsync();
            log.WriteLine(
                $"{sw.Elapsed.TotalSeconds, 6:F1}s  SIGKILL {(target == KillTarget.Worker ? "host0's worker" : "host0 and its worker")}, "
                    + $"{unfinished.Count} instances unfinished"
            );
            if (unfinished.Count == 0)
                problems.Add("no instance was in flight when the kill landed");

            double? resumed = null;
            var resumeDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (resumed is null && DateTime.UtcNow < resumeDeadline)
            {
                var rows = await RowsAsync(instances, cancellationToken);
                bool all = unfinished.Keys.All(id => rows.TryGetValue(id, out var row) && row.Updated > killedAt);
                if (all)
                    resumed = (DateTimeOffset.UtcNow - killedAt).TotalSeconds;
                else
                    await Task.Delay(250, cancellationToken);
            }
            log.WriteLine(
                resumed is { } r
                    ? $"{sw.Elapsed.TotalSeconds, 6:F1}s  every unfinished instance moved again, {r:F1} s after the kill"
                    : $"{sw.Elapsed.TotalSeconds, 6:F1}s  some instances did not move within 120 s of the kill"
            );
            if (resumed is null)
                problems.Add("work did not resume within 120 s of the kill");

            var survivors = hosts.Where(h => h.IsRunning).ToList();
            var promoted = new HashSet<string>();
            var end = DateTime.UtcNow + limit;
            while (promoted.Count < runs && DateTime.UtcNow < end)
            {
                foreach (string ds in datasets.Where(d => !promoted.Contains(d)).ToList())
                    if (await ChaosRun.ProductionVersionAsync(survivors, ds) is not null)
                        promoted.Add(ds);
                if (promoted.Count < runs)
                    await Task.Delay(500, cancellationToken);
            }
            log.WriteLine($"{sw.Elapsed.TotalSeconds, 6:F1}s  {promoted.Count}/{runs} promoted");
            int duplicates = 0;
            foreach (string ds in datasets)
            {
                int versions = await ChaosRun.VersionCountAsync(survivors, ds);
                if (versions > 1)
                {
                    duplicates += versions - 1;
                    problems.Add($"{ds}: {versions} model versions for one data version");
                }
                if (!promoted.Contains(ds))
                    problems.Add($"{ds}: no production model within {limit}");
            }
            return new KillOnceReport(
                runs,
                unfinished.Count,
                resumed,
                promoted.Count,
                duplicates,
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

    private static async Task<Dictionary<string, DateTimeOffset>> UnfinishedAsync(
        TableClient instances,
        CancellationToken cancellationToken
    ) =>
        (await RowsAsync(instances, cancellationToken))
            .Where(r => r.Value.Status is "Running" or "Pending")
            .ToDictionary(r => r.Key, r => r.Value.Updated);

    /// <summary>Pipeline instance id → (runtime status, last checkpoint) from DTFx's Instances table; empty while it
    /// does not exist.</summary>
    private static async Task<Dictionary<string, (string Status, DateTimeOffset Updated)>> RowsAsync(
        TableClient instances,
        CancellationToken cancellationToken
    )
    {
        var rows = new Dictionary<string, (string, DateTimeOffset)>(StringComparer.Ordinal);
        try
        {
            string[] columns = ["PartitionKey", "Name", "RuntimeStatus", "LastUpdatedTime"];
            await foreach (
                var row in instances.QueryAsync<TableEntity>(select: columns, cancellationToken: cancellationToken)
            )
            {
                if (row.GetString("Name") != PipelineOrchestrator)
                    continue;
                var updated = row.GetDateTimeOffset("LastUpdatedTime") ?? DateTimeOffset.MinValue;
                rows[row.PartitionKey] = (row.GetString("RuntimeStatus") ?? "", updated);
            }
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404) { }
        return rows;
    }
}
