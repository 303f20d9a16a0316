using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Table;

namespace Mlops.Durable.AzureStorage;

/// <summary>
/// Spreads control-queue partitions over live workers with leases kept as rows of the leases table (PK <c>lease</c>):
/// one row per partition (owner, expiry) and one heartbeat row per worker. Each tick reads the partition (1 call) and
/// renews, acquires and releases in one ETag-guarded batch (1 call), so lease upkeep costs two calls per third of a
/// lease duration regardless of partition count. Table rows rather than blob leases allow leases shorter than 15 s.
/// A worker owning more than its fair share releases the surplus; a dead worker's partitions are taken once expired.
/// </summary>
internal sealed class PartitionManager(TaskHubStorage storage, DurableWorkerOptions options, string workerId, ILogger logger,
    Action<int> acquired, Action<int> lost)
{
    private const string Pk = "lease";
    private readonly ConcurrentDictionary<int, DateTime> owned = new();   // partition → local expiry
    private readonly Dictionary<int, string> etags = new();

    // Lease calls fail fast instead of retrying for many seconds: the next tick is the retry.
    private readonly TableRequestOptions fast = new()
    {
        RetryPolicy = new Microsoft.WindowsAzure.Storage.RetryPolicies.NoRetry(),
        MaximumExecutionTime = TimeSpan.FromTicks(Math.Max(options.LeaseDuration.Ticks / 3, TimeSpan.FromMilliseconds(500).Ticks)),
    };

    /// <summary>True while this worker holds an unexpired lease on <paramref name="partition"/>.</summary>
    public bool Owns(int partition) => owned.TryGetValue(partition, out var until) && until > DateTime.UtcNow;

    public IReadOnlyCollection<int> Owned => owned.Where(kv => kv.Value > DateTime.UtcNow).Select(kv => kv.Key).OrderBy(p => p).ToArray();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var renew = TimeSpan.FromTicks(options.LeaseDuration.Ticks / 3);
        bool rowsExist = false;
        // Expiry is enforced by its own loop: a tick stuck on an unreachable store must not keep pumps running on
        // partitions whose leases others may already hold.
        _ = Task.Run(async () =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ExpireLocally();
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250, renew.TotalMilliseconds / 2)), cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
        }, CancellationToken.None);
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan next = renew;
            try
            {
                if (!rowsExist)
                {
                    var create = new TableBatchOperation();
                    for (int p = 0; p < storage.PartitionCount; p++)
                        create.InsertOrMerge(new DynamicTableEntity(Pk, RowKey(p)) { Properties = { ["P"] = new EntityProperty(p) } });
                    await storage.Leases.ExecuteBatchAsync(create, fast, null, cancellationToken).ConfigureAwait(false);
                    storage.Count();
                    rowsExist = true;
                }
                if (!await TickAsync(cancellationToken).ConfigureAwait(false))
                    next = TimeSpan.FromMilliseconds(100 + Random.Shared.Next(300));   // lost a race: re-read soon
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { break; }
            catch (Exception e) when (e is StorageException or IOException or HttpRequestException)
            {
                next = TimeSpan.FromSeconds(1);
                logger.StorageUnavailable("leases", next, e);
            }
            ExpireLocally();
            try { await Task.Delay(next, cancellationToken).ConfigureAwait(false); } catch (OperationCanceledException) { break; }
        }
    }

    private async Task<bool> TickAsync(CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var rows = await storage.QueryAllAsync(storage.Leases, new TableQuery<DynamicTableEntity>()
            .Where(TableQuery.GenerateFilterCondition("PartitionKey", QueryComparisons.Equal, Pk)), cancellationToken, fast).ConfigureAwait(false);
        var now = DateTime.UtcNow;
        int liveWorkers = 1 + rows.Count(r => r.RowKey.StartsWith("w-", StringComparison.Ordinal) && r.RowKey != "w-" + workerId && Expiry(r) > now);
        int target = (storage.PartitionCount + liveWorkers - 1) / liveWorkers;
        var partitions = rows.Where(r => r.RowKey.StartsWith("p", StringComparison.Ordinal)).ToDictionary(r => r.RowKey);
        var mine = new List<DynamicTableEntity>();
        var free = new List<DynamicTableEntity>();
        for (int p = 0; p < storage.PartitionCount; p++)
        {
            if (!partitions.TryGetValue(RowKey(p), out var row)) continue;
            string owner = row.Properties.TryGetValue("Owner", out var o) ? o.StringValue ?? "" : "";
            if (owner == workerId) mine.Add(row);
            else if (owner.Length == 0 || Expiry(row) <= now) free.Add(row);
        }
        var release = mine.Skip(target).ToList();
        var keep = mine.Take(target).ToList();
        // Take free partitions in a worker-specific order so simultaneous starters rarely collide.
        var acquire = free.OrderBy(r => (r.RowKey.GetHashCode() ^ workerId.GetHashCode())).Take(Math.Max(0, target - keep.Count)).ToList();

        var until = now + options.LeaseDuration;
        var batch = new TableBatchOperation
        {
            TableOperation.InsertOrReplace(new DynamicTableEntity(Pk, "w-" + workerId) { Properties = { ["Expires"] = new EntityProperty(until) } }),
        };
        foreach (var r in keep.Concat(acquire)) batch.Replace(Lease(r, workerId, until));
        foreach (var r in release) batch.Replace(Lease(r, "", now));
        try
        {
            var results = await storage.Leases.ExecuteBatchAsync(batch, fast, null, cancellationToken).ConfigureAwait(false);
            for (int i = 1; i < results.Count; i++) etags[Partition(((ITableEntity)batch[i].Entity).RowKey)] = results[i].Etag;
        }
        catch (StorageException e) when (TaskHubStorage.IsLostRace(e))
        {
            return false;
        }
        finally { storage.Count(); }

        // Our renewal was sent at 'started'; count expiry from then, minus a margin, so we stop before others may start.
        var localUntil = started + options.LeaseDuration - TimeSpan.FromTicks(options.LeaseDuration.Ticks / 10);
        foreach (var r in keep.Concat(acquire))
        {
            int p = Partition(r.RowKey);
            bool isNew = !owned.ContainsKey(p);
            owned[p] = localUntil;
            if (isNew) { logger.PartitionAcquired(workerId, p); acquired(p); }
        }
        foreach (var r in release) Drop(Partition(r.RowKey));
        return true;
    }

    /// <summary>Releases every lease (best effort) so other workers take over at once.</summary>
    public async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        var batch = new TableBatchOperation();
        foreach (int p in owned.Keys.ToArray())
        {
            if (etags.TryGetValue(p, out var etag))
            {
                var e = new DynamicTableEntity(Pk, RowKey(p)) { ETag = etag, Properties = { ["Owner"] = new EntityProperty(""), ["Expires"] = new EntityProperty(DateTime.UtcNow) } };
                batch.Replace(e);
            }
            Drop(p);
        }
        batch.Delete(new DynamicTableEntity(Pk, "w-" + workerId) { ETag = "*" });
        try { await storage.Leases.ExecuteBatchAsync(batch, null, null, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is StorageException or OperationCanceledException or IOException or HttpRequestException) { }
        finally { storage.Count(); }
    }

    private void ExpireLocally()
    {
        foreach (var kv in owned)
            if (kv.Value <= DateTime.UtcNow) Drop(kv.Key);
    }

    private void Drop(int p)
    {
        if (owned.TryRemove(p, out _)) { logger.PartitionReleased(workerId, p); lost(p); }
    }

    private static DynamicTableEntity Lease(DynamicTableEntity row, string owner, DateTime expires) =>
        new(Pk, row.RowKey) { ETag = row.ETag, Properties = { ["P"] = row.Properties["P"], ["Owner"] = new EntityProperty(owner), ["Expires"] = new EntityProperty(expires) } };

    private static DateTime Expiry(DynamicTableEntity r) => r.Properties.TryGetValue("Expires", out var e) ? e.DateTime ?? default : default;
    private static string RowKey(int p) => $"p{p:D2}";
    private static int Partition(string rowKey) => int.Parse(rowKey.AsSpan(1));
}
