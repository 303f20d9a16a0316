using System.Diagnostics;
using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Table;
using Mlops.Durable.TestWorker;

namespace Mlops.Durable.Tests;

/// <summary>A worker running in its own process (Mlops.Durable.TestWorker), killable with SIGKILL.</summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process process;

    private WorkerProcess(Process process, string workerId) { this.process = process; WorkerId = workerId; }

    public string WorkerId { get; }

    public static async Task<WorkerProcess> StartAsync(string connectionString, string hub, int leaseMs = 2000, int visibilityMs = 3000)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Mlops.Durable.TestWorker.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in new[] { dll, connectionString, hub, leaseMs.ToString(), visibilityMs.ToString() }) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        var ready = p.StandardOutput.ReadLineAsync();
        if (await Task.WhenAny(ready, Task.Delay(30_000)) != ready || ready.Result is not { } line || !line.StartsWith("READY "))
        {
            p.Kill(true);
            throw new InvalidOperationException("Test worker did not start.");
        }
        return new WorkerProcess(p, line["READY ".Length..]);
    }

    /// <summary>SIGKILL: no cleanup, no lease release, in-flight work abandoned mid-step.</summary>
    public void Kill()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public ValueTask DisposeAsync() { Kill(); process.Dispose(); return ValueTask.CompletedTask; }
}

/// <summary>Assertions shared by the crash, scale-out and outage tests.</summary>
internal static class Cluster
{
    public static async Task<Dictionary<string, (string Name, int Steps)>> StartManyAsync(DurableClient client, int chains, int chainSteps, int fanOuts, int fanSteps, int delayMs)
    {
        var started = new Dictionary<string, (string, int)>();
        var tasks = new List<Task>();
        for (int i = 0; i < chains; i++) started[$"chain-{i}"] = ("Chain", chainSteps);
        for (int i = 0; i < fanOuts; i++) started[$"fan-{i}"] = ("FanOut", fanSteps);
        foreach (var (id, (name, steps)) in started)
            tasks.Add(client.StartNewAsync(name, new TestFunctions.ChainInput(steps, delayMs), id));
        await Task.WhenAll(tasks);
        return started;
    }

    public static async Task<int> CountFinishedAsync(DurableClient client) =>
        (await client.QueryAsync(new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed], Top = 1000 })).Count;

    public static async Task WaitAllFinishedAsync(DurableClient client, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await CountFinishedAsync(client) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                var stuck = await client.QueryAsync(new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending] });
                Assert.Fail($"Not finished within {timeout}: {string.Join(", ", stuck.Select(s => s.InstanceId + "=" + s.RuntimeStatus))}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Every instance completed with the right output; exactly one effect per logical call; history intact (one start,
    /// one completion, every scheduled task completed exactly once, episode rows numbered without gaps). Returns the
    /// effect count per worker tag.
    /// </summary>
    public static async Task<Dictionary<string, int>> AssertExactlyOnceAsync(string connectionString, string hub, DurableClient client,
        Dictionary<string, (string Name, int Steps)> instances)
    {
        var account = CloudStorageAccount.Parse(connectionString);
        var effects = account.CreateCloudTableClient().GetTableReference(hub + "Effects");
        var history = account.CreateCloudTableClient().GetTableReference(hub + "History");
        var perWorker = new Dictionary<string, int>();
        foreach (var (id, (name, steps)) in instances)
        {
            var status = await client.GetStatusAsync(id, includeHistory: true);
            Assert.NotNull(status);
            status!.ShouldBeCompleted();
            Assert.Equal((long)steps * (steps - 1) / 2, status.ReadOutputAs<long>());

            var rows = await QueryAsync(effects, id);
            var values = rows.Select(r => r.Properties["Value"].Int64Value!.Value).OrderBy(v => v).ToList();
            Assert.True(values.SequenceEqual(Enumerable.Range(0, steps).Select(v => (long)v)),
                $"{id}: expected one effect per step 0..{steps - 1}, found [{string.Join(",", values)}]");
            foreach (var r in rows)
            {
                string w = r.Properties["Worker"].StringValue;
                perWorker[w] = perWorker.GetValueOrDefault(w) + 1;
            }

            var h = status.History!;
            Assert.Single(h, e => e.Type == HistoryEventType.ExecutionStarted);
            Assert.Single(h, e => e.Type == HistoryEventType.ExecutionCompleted);
            var scheduledIds = h.Where(e => e.Type is HistoryEventType.TaskScheduled or HistoryEventType.TimerCreated).Select(e => e.EventId).ToList();
            Assert.Equal(scheduledIds.Count, scheduledIds.Distinct().Count());
            Assert.Equal(Enumerable.Range(0, scheduledIds.Count), scheduledIds.Order());
            var completions = h.Where(e => e.Type is HistoryEventType.TaskCompleted or HistoryEventType.TaskFailed or HistoryEventType.TimerFired).Select(e => e.TaskId).ToList();
            Assert.Equal(completions.Count, completions.Distinct().Count());
            Assert.Subset(scheduledIds.ToHashSet(), completions.ToHashSet());

            var episodeRows = (await QueryAsync(history, id)).Where(r => r.RowKey.StartsWith("h000000-")).Select(r => int.Parse(r.RowKey[8..])).ToList();
            Assert.Equal(Enumerable.Range(0, episodeRows.Count), episodeRows);
        }
        return perWorker;
    }

    public static async Task<int> CountEffectsAsync(string connectionString, string hub)
    {
        var table = CloudStorageAccount.Parse(connectionString).CreateCloudTableClient().GetTableReference(hub + "Effects");
        if (!await table.ExistsAsync()) return 0;
        int n = 0;
        TableContinuationToken? token = null;
        var q = new TableQuery<DynamicTableEntity>().Select(["PartitionKey"]);
        do
        {
            var seg = await table.ExecuteQuerySegmentedAsync(q, token);
            n += seg.Results.Count;
            token = seg.ContinuationToken;
        } while (token is not null);
        return n;
    }

    public static async Task WaitForEffectsAsync(string connectionString, string hub, int atLeast, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (await CountEffectsAsync(connectionString, hub) < atLeast)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"No progress: fewer than {atLeast} effects after {timeoutSeconds} s.");
            await Task.Delay(50);
        }
    }

    private static async Task<List<DynamicTableEntity>> QueryAsync(CloudTable table, string pk)
    {
        var all = new List<DynamicTableEntity>();
        TableContinuationToken? token = null;
        var q = new TableQuery<DynamicTableEntity>().Where(TableQuery.GenerateFilterCondition("PartitionKey", QueryComparisons.Equal, TestFunctions.Sanitize(pk)));
        do
        {
            var seg = await table.ExecuteQuerySegmentedAsync(q, token);
            all.AddRange(seg.Results);
            token = seg.ContinuationToken;
        } while (token is not null);
        return all;
    }
}
