using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Blob;
using Microsoft.WindowsAzure.Storage.Queue;
using Microsoft.WindowsAzure.Storage.Table;
using Mlops.Core;

namespace Mlops.Durable.AzureStorage;

/// <summary>
/// Every storage artifact of one task hub and every call made to it (this is the one adapter to replace when the
/// official backend becomes available). Layout, for hub <c>h</c>:
/// table <c>hHistory</c> (PK = instance id; RK <c>$i</c> = instance row, RK <c>h{execution}-{seq}</c> = one row per
/// episode holding that episode's events), table <c>hLeases</c> (partition leases, worker heartbeats, hub config),
/// queues <c>h-control-NN</c> (partitioned by instance id), <c>h-workitems</c>, <c>h-poison</c>, and container
/// <c>h-large</c> for payloads over the queue and table limits. Every call is counted in <see cref="Transactions"/>.
/// </summary>
internal sealed class TaskHubStorage
{
    internal const string InstanceRowKey = "$i";
    private const int InlineChars = 30_000;          // Table string property limit is 64 KiB of UTF-16.
    private const int MaxChunks = 15;                // 15 × 30,000 chars × 2 B stays under the 1 MiB entity limit.
    private const int MaxQueueBytes = 45_000;        // Base64 of this stays under the 64 KiB queue message limit.
    private const string BlobPrefix = "\u0001blob:";

    private static readonly ConcurrentDictionary<string, Signal> Signals = new();

    // Messages this process is still working on, by queue and id. If one comes back from the queue because its
    // visibility lapsed under load, it is not a new delivery: the holder adopts the new pop receipt and the copy is
    // skipped, so slowness never counts towards poisoning. After 10 such returns the holder is presumed stuck.
    private readonly ConcurrentDictionary<(string Queue, string Id), QueueAnchor> held = new();
    private long transactions;

    public TaskHubStorage(DurableTaskHubOptions options)
    {
        options.Validate();
        Hub = options.TaskHubName;
        Account = options.ResolveAccount();
        var tables = Account.CreateCloudTableClient();
        var queues = Account.CreateCloudQueueClient();
        var blobs = Account.CreateCloudBlobClient();
        History = tables.GetTableReference(Hub + "History");
        Leases = tables.GetTableReference(Hub + "Leases");
        WorkItems = queues.GetQueueReference(Hub + "-workitems");
        Poison = queues.GetQueueReference(Hub + "-poison");
        Large = blobs.GetContainerReference(Hub + "-large");
        RequestedPartitions = options.PartitionCount;
        queueClient = queues;
    }

    private readonly CloudQueueClient queueClient;
    private Task? initialized;

    public string Hub { get; }
    public CloudStorageAccount Account { get; }
    public CloudTable History { get; }
    public CloudTable Leases { get; }
    public CloudQueue WorkItems { get; }
    public CloudQueue Poison { get; }
    public CloudBlobContainer Large { get; }
    public int RequestedPartitions { get; }
    public int PartitionCount { get; private set; }
    public CloudQueue[] Control { get; private set; } = [];

    /// <summary>Storage calls made through this object.</summary>
    public long Transactions => Interlocked.Read(ref transactions);

    /// <summary>Calls made by every hub object in this process (benchmarks).</summary>
    public static long GlobalTransactions => Interlocked.Read(ref globalTransactions);
    private static long globalTransactions;

    public void Count(int n = 1)
    {
        Interlocked.Add(ref transactions, n);
        Interlocked.Add(ref globalTransactions, n);
    }

    /// <summary>Creates the hub's artifacts once per object and settles the partition count stored with the hub.</summary>
    public Task EnsureInitializedAsync(CancellationToken cancellationToken = default)
    {
        lock (this) return initialized ??= InitializeAsync(cancellationToken);
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(CreateTable(History), CreateTable(Leases), CreateQueue(WorkItems), CreateQueue(Poison),
                Large.CreateIfNotExistsAsync(BlobContainerPublicAccessType.Off, null, null, cancellationToken)).ConfigureAwait(false);
            Count(6);
            // First writer fixes the partition count; everyone reads it back, so routing never disagrees.
            var config = new DynamicTableEntity("hub", "config") { Properties = { ["Partitions"] = new EntityProperty(RequestedPartitions) } };
            try { await Leases.ExecuteAsync(TableOperation.Insert(config), null, null, cancellationToken).ConfigureAwait(false); }
            catch (StorageException e) when (e.RequestInformation?.HttpStatusCode == 409) { }
            var read = await Leases.ExecuteAsync(TableOperation.Retrieve<DynamicTableEntity>("hub", "config"), null, null, cancellationToken).ConfigureAwait(false);
            Count(2);
            PartitionCount = ((DynamicTableEntity)read.Result).Properties["Partitions"].Int32Value ?? RequestedPartitions;
            Control = Enumerable.Range(0, PartitionCount).Select(i => queueClient.GetQueueReference($"{Hub}-control-{i:D2}")).ToArray();
            await Task.WhenAll(Control.Select(CreateQueue)).ConfigureAwait(false);
            Count(PartitionCount);
        }
        catch
        {
            lock (this) initialized = null;   // let the next caller retry (e.g. storage was briefly down)
            throw;
        }

        Task CreateTable(CloudTable t) => t.CreateIfNotExistsAsync(null, null, cancellationToken);
        Task CreateQueue(CloudQueue q) => q.CreateIfNotExistsAsync(null, null, cancellationToken);
    }

    /// <summary>FNV-1a of the instance id, so routing is stable across processes and versions.</summary>
    public int PartitionOf(string instanceId)
    {
        uint hash = 2166136261;
        foreach (byte b in Encoding.UTF8.GetBytes(instanceId)) { hash ^= b; hash *= 16777619; }
        return (int)(hash % (uint)PartitionCount);
    }

    public CloudQueue ControlQueueFor(string instanceId) => Control[PartitionOf(instanceId)];

    // ---- in-process wake-ups ----------------------------------------------------------------------------------

    /// <summary>The wake-up signal of a queue, shared by every object of this process using the same queue.</summary>
    public static Signal SignalFor(CloudQueue queue) => Signals.GetOrAdd(queue.Uri.AbsoluteUri, _ => new Signal());

    // ---- queues -----------------------------------------------------------------------------------------------

    /// <summary>Enqueues a message (spilling large ones to a blob); returns the anchor so the sender can delete it.</summary>
    public async Task<QueueAnchor> SendAsync(CloudQueue queue, WireMessage message, TimeSpan? initialVisibility = null, bool wake = true, CancellationToken cancellationToken = default,
        bool hold = false)
    {
        string json = Json.Serialize(message);
        if (Encoding.UTF8.GetByteCount(json) > MaxQueueBytes)
        {
            string blobName = $"msg/{message.InstanceId}/{Guid.NewGuid():N}.json";
            await UploadAsync(blobName, json, cancellationToken).ConfigureAwait(false);
            json = Json.Serialize(new WireMessage { InstanceId = message.InstanceId, Execution = message.Execution, Event = new HistoryEvent(), BlobRef = blobName });
        }
        var msg = new CloudQueueMessage(json);
        TimeSpan? delay = initialVisibility is { } d && d > TimeSpan.Zero ? (d > TimeSpan.FromDays(6) ? TimeSpan.FromDays(6) : d) : null;
        await queue.AddMessageAsync(msg, null, delay, null, null, cancellationToken).ConfigureAwait(false);
        Count();
        if (wake && delay is null) SignalFor(queue).Set();
        var anchor = new QueueAnchor(queue, msg.Id, msg.PopReceipt, 0);
        if (hold) held[(queue.Name, msg.Id)] = anchor;
        return anchor;
    }

    /// <summary>Receives up to <paramref name="count"/> messages; unreadable ones come back with a null message.</summary>
    public async Task<List<(QueueAnchor Anchor, WireMessage? Message, string Raw)>> ReceiveAsync(CloudQueue queue, int count, TimeSpan visibility, CancellationToken cancellationToken = default)
    {
        var raw = await queue.GetMessagesAsync(count, visibility, null, null, cancellationToken).ConfigureAwait(false);
        Count();
        var result = new List<(QueueAnchor, WireMessage?, string)>();
        foreach (var m in raw)
        {
            if (held.TryGetValue((queue.Name, m.Id), out var holder) && Volatile.Read(ref holder.Released) == 0
                && Interlocked.Increment(ref holder.Redelivered) <= 10)
            {
                holder.PopReceipt = m.PopReceipt;
                continue;
            }
            var anchor = new QueueAnchor(queue, m.Id, m.PopReceipt, m.DequeueCount);
            held[(queue.Name, m.Id)] = anchor;
            string text;
            try { text = m.AsString; } catch (Exception) { result.Add((anchor, null, "<binary>")); continue; }
            WireMessage? parsed = null;
            try
            {
                parsed = Json.Deserialize<WireMessage>(text);
                if (parsed?.BlobRef is { } blob) parsed = Json.Deserialize<WireMessage>(await DownloadAsync(blob, cancellationToken).ConfigureAwait(false));
                if (parsed is { Event: null } || string.IsNullOrEmpty(parsed?.InstanceId)) parsed = null;
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or StorageException) { parsed = null; }
            result.Add((anchor, parsed, text));
        }
        return result;
    }

    /// <summary>Stops tracking a message without touching the queue (it will reappear after its visibility timeout).</summary>
    public void Forget(QueueAnchor anchor)
    {
        Interlocked.Exchange(ref anchor.Released, 1);
        held.TryRemove(new KeyValuePair<(string, string), QueueAnchor>((anchor.Queue.Name, anchor.Id), anchor));
    }

    public async Task DeleteAsync(QueueAnchor anchor, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref anchor.Released, 1) == 1) return;
        held.TryRemove(new KeyValuePair<(string, string), QueueAnchor>((anchor.Queue.Name, anchor.Id), anchor));
        try
        {
            await anchor.Queue.DeleteMessageAsync(anchor.Id, anchor.PopReceipt, null, null, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException e) when (e.RequestInformation?.HttpStatusCode is 404 or 400)
        {
            // Already deleted, or its visibility expired and someone else holds it now: either way not ours any more.
        }
        finally { Count(); }
    }

    /// <summary>Makes a message visible again after <paramref name="delay"/> (abandon) or extends its invisibility (renew).</summary>
    public async Task<bool> SetVisibilityAsync(QueueAnchor anchor, TimeSpan delay, bool release, CancellationToken cancellationToken = default)
    {
        if (release && Interlocked.Exchange(ref anchor.Released, 1) == 1) return false;
        if (release) held.TryRemove(new KeyValuePair<(string, string), QueueAnchor>((anchor.Queue.Name, anchor.Id), anchor));
        if (!release && Volatile.Read(ref anchor.Released) == 1) return false;
        var msg = new CloudQueueMessage(anchor.Id, anchor.PopReceipt);
        try
        {
            await anchor.Queue.UpdateMessageAsync(msg, delay, MessageUpdateFields.Visibility, null, null, cancellationToken).ConfigureAwait(false);
            anchor.PopReceipt = msg.PopReceipt;
            return true;
        }
        catch (StorageException e) when (e.RequestInformation?.HttpStatusCode is 404 or 400)
        {
            return false;
        }
        finally { Count(); }
    }

    // ---- blobs ------------------------------------------------------------------------------------------------

    public async Task UploadAsync(string name, string content, CancellationToken cancellationToken = default)
    {
        await Large.GetBlockBlobReference(name).UploadTextAsync(content, Encoding.UTF8, null, null, null, cancellationToken).ConfigureAwait(false);
        Count();
    }

    public async Task<string> DownloadAsync(string name, CancellationToken cancellationToken = default)
    {
        try { return await Large.GetBlockBlobReference(name).DownloadTextAsync(Encoding.UTF8, null, null, null, cancellationToken).ConfigureAwait(false); }
        finally { Count(); }
    }

    private async Task<string?> StoreText(string instanceId, string kind, string? value, CancellationToken cancellationToken)
    {
        if (value is null || value.Length <= InlineChars) return value;
        string name = $"inst/{instanceId}/{kind}-{Guid.NewGuid():N}.json";
        await UploadAsync(name, value, cancellationToken).ConfigureAwait(false);
        return BlobPrefix + name;
    }

    private async Task<string?> LoadText(string? stored, CancellationToken cancellationToken) =>
        stored is not null && stored.StartsWith(BlobPrefix, StringComparison.Ordinal)
            ? await DownloadAsync(stored[BlobPrefix.Length..], cancellationToken).ConfigureAwait(false)
            : stored;

    // ---- instance rows and history ----------------------------------------------------------------------------

    public static string HistoryRowKey(int execution, int seq) => $"h{execution:D6}-{seq:D6}";

    /// <summary>Point read of the instance row (null if the instance does not exist).</summary>
    public async Task<InstanceRecord?> ReadInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var r = await History.ExecuteAsync(TableOperation.Retrieve<DynamicTableEntity>(instanceId, InstanceRowKey), null, null, cancellationToken).ConfigureAwait(false);
        Count();
        return r.Result is DynamicTableEntity e ? await ToRecord(e, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>Reads the instance row and the history of its current execution in one query (null if absent).</summary>
    public async Task<InstanceState?> LoadAsync(string instanceId, int executionHint = -1, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            string pk = TableQuery.GenerateFilterCondition("PartitionKey", QueryComparisons.Equal, instanceId);
            string filter = pk;
            if (executionHint >= 0)
            {
                // Skip rows of earlier executions (eternal orchestrations accumulate them until purged).
                string rows = TableQuery.CombineFilters(
                    TableQuery.GenerateFilterCondition("RowKey", QueryComparisons.GreaterThanOrEqual, $"h{executionHint:D6}-"),
                    TableOperators.And,
                    TableQuery.GenerateFilterCondition("RowKey", QueryComparisons.LessThan, $"h{executionHint + 1:D6}-"));
                filter = TableQuery.CombineFilters(pk, TableOperators.And,
                    TableQuery.CombineFilters(TableQuery.GenerateFilterCondition("RowKey", QueryComparisons.Equal, InstanceRowKey), TableOperators.Or, rows));
            }
            var entities = await QueryAllAsync(History, new TableQuery<DynamicTableEntity>().Where(filter), cancellationToken).ConfigureAwait(false);
            var instance = entities.FirstOrDefault(e => e.RowKey == InstanceRowKey);
            if (instance is null) return null;
            var record = await ToRecord(instance, cancellationToken).ConfigureAwait(false);
            if (executionHint >= 0 && record.Execution != executionHint) { executionHint = record.Execution; continue; }
            string prefix = $"h{record.Execution:D6}-";
            var history = new List<HistoryEvent>();
            foreach (var row in entities.Where(e => e.RowKey.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(e => e.RowKey, StringComparer.Ordinal))
                history.AddRange(await ReadEvents(row, cancellationToken).ConfigureAwait(false));
            return new InstanceState(record, history);
        }
    }

    /// <summary>
    /// Appends one episode's events and writes the instance row, atomically, conditioned on the row's ETag (insert if
    /// new). Returns false when another writer got there first (Azure answers 412/409; Azurite answers 500).
    /// </summary>
    public async Task<bool> CheckpointAsync(InstanceRecord record, IReadOnlyList<HistoryEvent> newEvents, CancellationToken cancellationToken = default)
    {
        var batch = new TableBatchOperation();
        if (newEvents.Count > 0)
        {
            var row = new DynamicTableEntity(record.InstanceId, HistoryRowKey(record.Execution, record.Seq));
            string json = Json.Serialize(newEvents);
            if (json.Length > InlineChars * MaxChunks)
            {
                string name = $"hist/{record.InstanceId}/{record.Execution}-{record.Seq}-{Guid.NewGuid():N}.json";
                await UploadAsync(name, json, cancellationToken).ConfigureAwait(false);
                row.Properties["B"] = new EntityProperty(name);
            }
            else
            {
                for (int i = 0, c = 0; i < json.Length; i += InlineChars, c++)
                    row.Properties["D" + c] = new EntityProperty(json.Substring(i, Math.Min(InlineChars, json.Length - i)));
            }
            batch.Insert(row);
            record.Seq++;
        }
        var entity = await ToEntity(record, cancellationToken).ConfigureAwait(false);
        if (record.ETag is null) batch.Insert(entity);
        else { entity.ETag = record.ETag; batch.Replace(entity); }
        try
        {
            var results = await History.ExecuteBatchAsync(batch, null, null, cancellationToken).ConfigureAwait(false);
            record.ETag = results[^1].Etag;
            return true;
        }
        catch (StorageException e) when (IsLostRace(e))
        {
            if (newEvents.Count > 0) record.Seq--;
            return false;
        }
        finally { Count(); }
    }

    /// <summary>A failed conditional write: 412/409 on Azure, 500 on Azurite for batches.</summary>
    public static bool IsLostRace(StorageException e) =>
        e.RequestInformation?.HttpStatusCode is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict or (int)HttpStatusCode.InternalServerError;

    /// <summary>Deletes every row and blob of an instance.</summary>
    public async Task<bool> PurgeAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAllAsync(History, new TableQuery<DynamicTableEntity>()
            .Where(TableQuery.GenerateFilterCondition("PartitionKey", QueryComparisons.Equal, instanceId))
            .Select(["PartitionKey", "RowKey"]), cancellationToken).ConfigureAwait(false);
        foreach (var chunk in rows.Chunk(100))
        {
            var batch = new TableBatchOperation();
            foreach (var r in chunk) { r.ETag = "*"; batch.Delete(r); }
            await History.ExecuteBatchAsync(batch, null, null, cancellationToken).ConfigureAwait(false);
            Count();
        }
        foreach (string prefix in new[] { $"inst/{instanceId}/", $"hist/{instanceId}/", $"msg/{instanceId}/" })
        {
            BlobContinuationToken? token = null;
            do
            {
                var seg = await Large.ListBlobsSegmentedAsync(prefix, true, BlobListingDetails.None, 500, token, null, null, cancellationToken).ConfigureAwait(false);
                Count();
                token = seg.ContinuationToken;
                foreach (var b in seg.Results.OfType<CloudBlockBlob>()) { await b.DeleteIfExistsAsync(DeleteSnapshotsOption.None, null, null, null, cancellationToken).ConfigureAwait(false); Count(); }
            } while (token is not null);
        }
        return rows.Count > 0;
    }

    /// <summary>Scans instance rows with a server-side filter; stops after <paramref name="take"/> accepted rows.</summary>
    public async Task<List<InstanceRecord>> QueryInstancesAsync(string filter, Func<InstanceRecord, bool> accept, int take, CancellationToken cancellationToken = default)
    {
        var result = new List<InstanceRecord>();
        TableContinuationToken? token = null;
        var query = new TableQuery<DynamicTableEntity>().Where(filter);
        do
        {
            var seg = await History.ExecuteQuerySegmentedAsync(query, token, null, null, cancellationToken).ConfigureAwait(false);
            Count();
            token = seg.ContinuationToken;
            foreach (var e in seg.Results)
            {
                var r = await ToRecord(e, cancellationToken).ConfigureAwait(false);
                if (accept(r)) { result.Add(r); if (result.Count >= take) return result; }
            }
        } while (token is not null);
        return result;
    }

    public async Task<List<DynamicTableEntity>> QueryAllAsync(CloudTable table, TableQuery<DynamicTableEntity> query, CancellationToken cancellationToken = default,
        TableRequestOptions? requestOptions = null)
    {
        var all = new List<DynamicTableEntity>();
        TableContinuationToken? token = null;
        do
        {
            var seg = await table.ExecuteQuerySegmentedAsync(query, token, requestOptions, null, cancellationToken).ConfigureAwait(false);
            Count();
            all.AddRange(seg.Results);
            token = seg.ContinuationToken;
        } while (token is not null);
        return all;
    }

    private async Task<List<HistoryEvent>> ReadEvents(DynamicTableEntity row, CancellationToken cancellationToken)
    {
        string json;
        if (row.Properties.TryGetValue("B", out var blob)) json = await DownloadAsync(blob.StringValue, cancellationToken).ConfigureAwait(false);
        else
        {
            var sb = new StringBuilder();
            for (int c = 0; row.Properties.TryGetValue("D" + c, out var p); c++) sb.Append(p.StringValue);
            json = sb.ToString();
        }
        return Json.Deserialize<List<HistoryEvent>>(json) ?? [];
    }

    private async Task<InstanceRecord> ToRecord(DynamicTableEntity e, CancellationToken cancellationToken)
    {
        var p = e.Properties;
        string? S(string k) => p.TryGetValue(k, out var v) ? v.StringValue : null;
        return new InstanceRecord
        {
            InstanceId = e.PartitionKey,
            Name = S("Name") ?? "",
            Status = Enum.TryParse<OrchestrationRuntimeStatus>(S("Status"), out var st) ? st : OrchestrationRuntimeStatus.Pending,
            CreatedAt = p.TryGetValue("CreatedAt", out var c) ? c.DateTime ?? default : default,
            UpdatedAt = p.TryGetValue("UpdatedAt", out var u) ? u.DateTime ?? default : default,
            Execution = p.TryGetValue("Execution", out var x) ? x.Int32Value ?? 0 : 0,
            Seq = p.TryGetValue("Seq", out var s) ? s.Int32Value ?? 0 : 0,
            Input = await LoadText(S("Input"), cancellationToken).ConfigureAwait(false),
            Output = await LoadText(S("Output"), cancellationToken).ConfigureAwait(false),
            CustomStatus = await LoadText(S("CustomStatus"), cancellationToken).ConfigureAwait(false),
            Failure = S("Failure") is { } f ? Json.Deserialize<FailureDetails>(f) : null,
            Parent = S("Parent") is { } pa ? Json.Deserialize<ParentInstance>(pa) : null,
            ETag = e.ETag,
        };
    }

    private async Task<DynamicTableEntity> ToEntity(InstanceRecord r, CancellationToken cancellationToken)
    {
        var e = new DynamicTableEntity(r.InstanceId, InstanceRowKey);
        var p = e.Properties;
        p["Name"] = new EntityProperty(r.Name);
        p["Status"] = new EntityProperty(r.Status.ToString());
        p["CreatedAt"] = new EntityProperty(r.CreatedAt);
        p["UpdatedAt"] = new EntityProperty(r.UpdatedAt);
        p["Execution"] = new EntityProperty(r.Execution);
        p["Seq"] = new EntityProperty(r.Seq);
        if (await StoreText(r.InstanceId, "input", r.Input, cancellationToken).ConfigureAwait(false) is { } i) p["Input"] = new EntityProperty(i);
        if (await StoreText(r.InstanceId, "output", r.Output, cancellationToken).ConfigureAwait(false) is { } o) p["Output"] = new EntityProperty(o);
        if (await StoreText(r.InstanceId, "status", r.CustomStatus, cancellationToken).ConfigureAwait(false) is { } cs) p["CustomStatus"] = new EntityProperty(cs);
        if (r.Failure is not null) p["Failure"] = new EntityProperty(Truncate(Json.Serialize(r.Failure)));
        if (r.Parent is not null) p["Parent"] = new EntityProperty(Json.Serialize(r.Parent));
        return e;
    }

    private static string Truncate(string s) => s.Length <= InlineChars ? s : s[..InlineChars];
}

/// <summary>Auto-reset wake-up signal that can be awaited with a timeout (the poll interval).</summary>
internal sealed class Signal
{
    private TaskCompletionSource tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Volatile.Read(ref tcs).TrySetResult();

    /// <summary>Waits until signalled or <paramref name="timeout"/> elapses; true if signalled.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref tcs);
        if (current.Task.IsCompleted) { Interlocked.CompareExchange(ref tcs, new(TaskCreationOptions.RunContinuationsAsynchronously), current); return true; }
        using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(timeout, delay.Token);
        var winner = await Task.WhenAny(current.Task, timer).ConfigureAwait(false);
        delay.Cancel();
        if (winner == current.Task) { Interlocked.CompareExchange(ref tcs, new(TaskCreationOptions.RunContinuationsAsynchronously), current); return true; }
        cancellationToken.ThrowIfCancellationRequested();
        return false;
    }
}
