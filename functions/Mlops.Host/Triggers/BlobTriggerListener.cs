using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;

namespace Mlops.Host.Triggers;

/// <summary>
/// Blob triggers, delivered as the Blobs extension delivers Event Grid blob events (azure-sdk-for-net
/// Microsoft.Azure.WebJobs.Extensions.Storage.Blobs 5.3.x). Azurite emits no events, so one host at a time (a singleton
/// lock, <c>locks/{hostId}/WebJobs.Internal.Blobs.Listener</c>, as the extension's shared blob listener) lists the
/// watched containers and turns each new blob version (a new ETag) into a message on the host's blob trigger queue,
/// after an ETag-guarded receipt (<c>blobreceipts/{hostId}/{functionId}/{etag}/{container}/{blob}</c>) so a version is
/// queued once even across a lock hand-over and after restarts. Every host then runs the queue (scale-out), as the
/// extension's shared blob queue listener does: it invokes the function with the blob's binding data, deletes the
/// message on success, makes it visible again on failure, and after <see cref="TriggerOptions.PoisonBlobThreshold"/>
/// tries copies it to
/// <c>webjobs-blobtrigger-poison</c>. Delivery is at least once; a blob deleted before its turn is skipped.
/// </summary>
public sealed class BlobTriggerListener(
    IWorkerInvoker invoker,
    HostContext context,
    TriggerOptions options,
    ILogger<BlobTriggerListener> log
) : TriggerListener<BlobTriggerFunction>(invoker)
{
    /// <summary>Container of the host's locks, receipts and timer statuses (HostContainerNames.Hosts).</summary>
    public const string HostsContainer = "azure-webjobs-hosts";

    /// <summary>The lock id of the blob scan singleton (the extension's SingletonBlobListenerScopeId plus
    /// ".Listener").</summary>
    public const string ScanLockId = "WebJobs.Internal.Blobs.Listener";

    // A pending receipt older than this belongs to a host that died between the receipt and the enqueue: take it over.
    private static readonly TimeSpan PendingClaimTimeout = TimeSpan.FromMinutes(1);

    private readonly string _owner = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, bool> _queued = new();
    private readonly ConcurrentDictionary<string, (BlobServiceClient Blobs, QueueServiceClient Queues)> _accounts =
        new();

    /// <inheritdoc />
    protected override async Task RunAsync(CancellationToken stoppingToken)
    {
        log.LogInformation(
            "Blob triggers: {Functions}",
            string.Join(", ", Functions.Select(f => $"{f.Function.Name} ({f.Path})"))
        );
        await Task.WhenAll(ScanLoopAsync(stoppingToken), QueueLoopAsync(stoppingToken));
    }

    /// <inheritdoc />
    protected override IReadOnlyList<BlobTriggerFunction> LoadFunctions()
    {
        var settings = TriggerServices.CreateSettings(options, context);
        var result = new List<BlobTriggerFunction>();
        foreach (
            var function in Invoker.Functions.Where(f =>
                f.TriggerType.Equals("blobTrigger", StringComparison.OrdinalIgnoreCase)
            )
        )
        {
            if (settings.IsFunctionDisabled(function.Name))
            {
                log.LogInformation(
                    "Function '{Function}' is disabled (AzureWebJobs.{Function}.Disabled).",
                    function.Name,
                    function.Name
                );
                continue;
            }
            try
            {
                result.Add(BlobTriggerFunction.Create(function, settings));
            }
            catch (InvalidOperationException e)
            {
                FunctionErrors[function.Name] = e.Message;
                log.LogError("{Error} The function stays off; the other functions run.", e.Message);
            }
        }
        return result;
    }

    private (BlobServiceClient Blobs, QueueServiceClient Queues) Account(string connectionString) =>
        _accounts.GetOrAdd(connectionString, cs =>
            (
                new BlobServiceClient(cs),
                new QueueServiceClient(cs, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
            )
        );

    private BlobContainerClient Hosts =>
        Account(context.StorageConnectionString).Blobs.GetBlobContainerClient(HostsContainer);

    private QueueClient HostQueue =>
        Account(context.StorageConnectionString)
            .Queues.GetQueueClient(BlobTriggerMessage.HostQueueName(context.HostId));

    // ---- Change detection: one host lists, every version is queued once ----

    private async Task ScanLoopAsync(CancellationToken cancellationToken)
    {
        var scanLock = new SingletonLock(Hosts, context.HostId, ScanLockId, options.ScanLockPeriod, _owner);
        var nextLockTry = DateTimeOffset.MinValue;
        bool preloaded = false;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    if (scanLock.IsHeld || DateTimeOffset.UtcNow >= nextLockTry)
                    {
                        if (await scanLock.TryHoldAsync(cancellationToken))
                        {
                            if (!preloaded)
                            {
                                await PreloadReceiptsAsync(cancellationToken);
                                preloaded = true;
                            }
                            await ScanOnceAsync(cancellationToken);
                        }
                        else
                            nextLockTry = DateTimeOffset.UtcNow + options.ScanLockRecoveryInterval;
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    log.LogWarning("Blob scan failed, retrying: {Error}", e.Message);
                }
                try
                {
                    await Task.Delay(options.BlobScanInterval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            await scanLock.ReleaseAsync(CancellationToken.None);
        }
    }

    private static string VersionKey(string functionId, string container, string blobName, string etag) =>
        $"{functionId}|{container}|{etag.Trim('"')}|{blobName}";

    private string ReceiptName(string functionId, string container, string blobName, string etag) =>
        $"blobreceipts/{context.HostId}/{functionId}/{etag.Trim('"')}/{container}/{blobName}";

    // Receipts already queued need no storage round-trip on later scans (and after a restart).
    private async Task PreloadReceiptsAsync(CancellationToken cancellationToken)
    {
        if (!await Hosts.ExistsAsync(cancellationToken))
            return;
        string prefix = $"blobreceipts/{context.HostId}/";
        await foreach (var item in Hosts.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, prefix, cancellationToken))
        {
            if (!item.Metadata.TryGetValue("Status", out var status) || status != "Enqueued")
                continue;
            string[] parts = item.Name[prefix.Length..].Split('/', 4);
            if (parts.Length == 4)
                _queued[VersionKey(parts[0], parts[2], parts[3], parts[1])] = true;
        }
    }

    /// <summary>One pass over every watched container: queues each blob version no receipt covers yet.</summary>
    private async Task ScanOnceAsync(CancellationToken cancellationToken)
    {
        foreach (var group in Functions.GroupBy(f => (f.ConnectionString, f.Path.Container)))
        {
            var container = Account(group.Key.ConnectionString).Blobs.GetBlobContainerClient(group.Key.Container);
            string prefix = CommonPrefix(group.Select(f => f.Path.ListPrefix));
            try
            {
                await foreach (
                    var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken)
                )
                {
                    foreach (var function in group)
                    {
                        if (function.Path.Match(container.Name, item.Name) is null)
                            continue;
                        // Listings give the ETag bare; the host's messages carry it quoted, as the ETag header has it.
                        string etag = $"\"{(item.Properties.ETag?.ToString() ?? "").Trim('"')}\"";
                        if (_queued.ContainsKey(VersionKey(function.FunctionId, container.Name, item.Name, etag)))
                            continue;
                        var blobType = item.Properties.BlobType ?? BlobType.Block;
                        await ClaimAndQueueAsync(
                            function,
                            container.Name,
                            item.Name,
                            etag,
                            blobType,
                            cancellationToken
                        );
                    }
                }
            }
            catch (RequestFailedException e) when (e.Status == 404) { } // the container does not exist yet: nothing to deliver
        }
    }

    private static string CommonPrefix(IEnumerable<string> prefixes)
    {
        string? common = null;
        foreach (string p in prefixes)
        {
            if (common is null)
            {
                common = p;
                continue;
            }
            int n = 0;
            while (n < common.Length && n < p.Length && common[n] == p[n])
                n++;
            common = common[..n];
        }
        return common ?? "";
    }

    private async Task ClaimAndQueueAsync(
        BlobTriggerFunction function,
        string container,
        string blobName,
        string etag,
        BlobType blobType,
        CancellationToken cancellationToken
    )
    {
        var receipt = Hosts.GetBlobClient(ReceiptName(function.FunctionId, container, blobName, etag));
        ETag receiptETag;
        try
        {
            await Hosts.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            receiptETag = await WriteReceiptAsync(
                receipt,
                "Pending",
                new BlobRequestConditions { IfNoneMatch = ETag.All },
                cancellationToken
            );
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            var existing = await receipt.GetPropertiesAsync(cancellationToken: cancellationToken);
            string status = existing.Value.Metadata.TryGetValue("Status", out var s) ? s : "";
            if (status == "Enqueued")
            {
                _queued[VersionKey(function.FunctionId, container, blobName, etag)] = true;
                return;
            }
            if (DateTimeOffset.UtcNow - existing.Value.LastModified < PendingClaimTimeout)
                return; // another host is queuing it
            try
            {
                receiptETag = await WriteReceiptAsync(
                    receipt,
                    "Pending",
                    new BlobRequestConditions { IfMatch = existing.Value.ETag },
                    cancellationToken
                );
            }
            catch (RequestFailedException lost) when (lost.Status is 409 or 412)
            {
                return;
            }
        }

        var message = new BlobTriggerMessage(function.FunctionId, blobType + "Blob", container, blobName, etag);
        await HostQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await HostQueue.SendMessageAsync(message.ToJson(), cancellationToken);
        try
        {
            await WriteReceiptAsync(
                receipt,
                "Enqueued",
                new BlobRequestConditions { IfMatch = receiptETag },
                cancellationToken
            );
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412) { } // taken over meanwhile: that host queues it too (at least once)
        _queued[VersionKey(function.FunctionId, container, blobName, etag)] = true;
        log.LogInformation(
            "Blob {Container}/{Blob} ({ETag}) queued for {Function}.",
            container,
            blobName,
            etag,
            function.Function.Name
        );
    }

    private async Task<ETag> WriteReceiptAsync(
        BlobClient receipt,
        string status,
        BlobRequestConditions conditions,
        CancellationToken cancellationToken
    )
    {
        var response = await receipt.UploadAsync(
            BinaryData.Empty,
            new Azure.Storage.Blobs.Models.BlobUploadOptions
            {
                Metadata = new Dictionary<string, string> { ["Status"] = status, ["Owner"] = _owner },
                Conditions = conditions,
            },
            cancellationToken
        );
        return response.Value.ETag;
    }

    // ---- Delivery: every host runs the queue ----

    private async Task QueueLoopAsync(CancellationToken cancellationToken)
    {
        int parallelism = Math.Max(1, options.MaxDegreeOfParallelism);
        using var slots = new SemaphoreSlim(parallelism, parallelism);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await HostQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                await slots.WaitAsync(cancellationToken);
                int free = slots.CurrentCount + 1;
                slots.Release();
                QueueMessage[] messages = await HostQueue.ReceiveMessagesAsync(
                    Math.Min(32, free),
                    options.BlobMessageVisibility,
                    cancellationToken
                );
                if (messages.Length == 0)
                {
                    await Task.Delay(options.QueuePollInterval, cancellationToken);
                    continue;
                }
                foreach (var message in messages)
                {
                    await slots.WaitAsync(cancellationToken);
                    _ = Task.Run(
                        async () =>
                        {
                            try
                            {
                                await ProcessMessageAsync(message, cancellationToken);
                            }
                            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
                            catch (Exception e)
                            {
                                log.LogError(
                                    "Blob trigger message {Id} failed unexpectedly: {Error}",
                                    message.MessageId,
                                    e.Message
                                );
                            }
                            finally
                            {
                                slots.Release();
                            }
                        },
                        CancellationToken.None
                    );
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                log.LogWarning("Blob trigger queue poll failed, retrying: {Error}", e.Message);
                try
                {
                    await Task.Delay(options.QueuePollInterval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        // Let running invocations finish (bounded) so their messages are settled rather than retried by another host.
        for (int i = 0; i < parallelism; i++)
            if (!await slots.WaitAsync(TimeSpan.FromSeconds(30)))
                break;
    }

    private async Task ProcessMessageAsync(QueueMessage queued, CancellationToken cancellationToken)
    {
        BlobTriggerMessage message;
        try
        {
            message = BlobTriggerMessage.Parse(queued.MessageText);
        }
        catch (FormatException e)
        {
            // Not ours to interpret: keep it where a person can see it, rather than retrying or dropping it.
            log.LogError(
                "Blob trigger message {Id} is not valid ({Error}); moved to {Queue}.",
                queued.MessageId,
                e.Message,
                BlobTriggerMessage.PoisonQueueName
            );
            await SendToPoisonAsync(
                Account(context.StorageConnectionString).Queues,
                queued.MessageText,
                cancellationToken
            );
            await HostQueue.DeleteMessageAsync(queued.MessageId, queued.PopReceipt, cancellationToken);
            return;
        }
        var function = Functions.FirstOrDefault(f => f.FunctionId == message.FunctionId);
        if (function is null)
        {
            // The real host drops messages for functions it does not have (renamed, deleted or disabled).
            log.LogWarning(
                "Blob trigger message for unknown function '{FunctionId}' ({Blob}) deleted.",
                message.FunctionId,
                message.BlobName
            );
            await HostQueue.DeleteMessageAsync(queued.MessageId, queued.PopReceipt, cancellationToken);
            return;
        }
        var account = Account(function.ConnectionString);
        var lease = new MessageLease(queued.PopReceipt);
        if (queued.DequeueCount > options.PoisonBlobThreshold)
        {
            // Tried that often without a verdict (hosts died mid-invocation): give up like a failed last try.
            await PoisonAsync(
                function,
                account.Queues,
                queued,
                lease,
                message,
                "dequeued too often without completing",
                cancellationToken
            );
            return;
        }

        var blob = account.Blobs.GetBlobContainerClient(message.ContainerName).GetBlobClient(message.BlobName);
        BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            log.LogInformation(
                "Blob {Container}/{Blob} no longer exists; nothing to run for {Function}.",
                message.ContainerName,
                message.BlobName,
                function.Function.Name
            );
            await HostQueue.DeleteMessageAsync(queued.MessageId, lease.PopReceipt, cancellationToken);
            return;
        }
        byte[]? content = function.NeedsContent
            ? (await blob.DownloadContentAsync(cancellationToken)).Value.Content.ToArray()
            : null;
        var values = function.Path.Match(message.ContainerName, message.BlobName) ?? new Dictionary<string, string>();
        var request = function.CreateInvocation(
            message.ContainerName,
            message.BlobName,
            blob.Uri,
            properties,
            values,
            content
        );

        string? error;
        using (var renewal = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var renewing = RenewVisibilityAsync(queued.MessageId, lease, renewal.Token);
            try
            {
                var response = await Invoker.InvokeAsync(function.Function, request, cancellationToken);
                error =
                    response.Result?.Status == StatusResult.Types.Status.Success ? null
                    : response.Result?.Exception?.Message is { Length: > 0 } m ? m
                    : $"invocation ended with status {response.Result?.Status}";
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                error = e.Message;
            }
            finally
            {
                renewal.Cancel();
                await renewing;
            }
        }

        if (error is null)
        {
            await HostQueue.DeleteMessageAsync(queued.MessageId, lease.PopReceipt, cancellationToken);
            return;
        }
        if (queued.DequeueCount >= options.PoisonBlobThreshold)
        {
            await PoisonAsync(function, account.Queues, queued, lease, message, error, cancellationToken);
            return;
        }
        log.LogWarning(
            "{Function} failed for {Container}/{Blob} (try {Try} of {Tries}), will retry: {Error}",
            function.Function.Name,
            message.ContainerName,
            message.BlobName,
            queued.DequeueCount,
            options.PoisonBlobThreshold,
            error
        );
        await HostQueue.UpdateMessageAsync(
            queued.MessageId,
            lease.PopReceipt,
            visibilityTimeout: options.BlobRetryDelay,
            cancellationToken: cancellationToken
        );
    }

    private async Task PoisonAsync(
        BlobTriggerFunction function,
        QueueServiceClient queues,
        QueueMessage queued,
        MessageLease lease,
        BlobTriggerMessage message,
        string error,
        CancellationToken cancellationToken
    )
    {
        await SendToPoisonAsync(queues, queued.MessageText, cancellationToken);
        await HostQueue.DeleteMessageAsync(queued.MessageId, lease.PopReceipt, cancellationToken);
        log.LogError(
            "{Function} failed {Tries} times for {Container}/{Blob}; message moved to {Queue}: {Error}",
            function.Function.Name,
            queued.DequeueCount,
            message.ContainerName,
            message.BlobName,
            BlobTriggerMessage.PoisonQueueName,
            error
        );
    }

    private static async Task SendToPoisonAsync(
        QueueServiceClient queues,
        string text,
        CancellationToken cancellationToken
    )
    {
        var poison = queues.GetQueueClient(BlobTriggerMessage.PoisonQueueName);
        await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await poison.SendMessageAsync(text, cancellationToken);
    }

    // Keeps a long invocation's message invisible to other hosts; each update hands back a new pop receipt.
    private async Task RenewVisibilityAsync(string messageId, MessageLease lease, CancellationToken cancellationToken)
    {
        var every = options.BlobMessageVisibility / 2;
        try
        {
            while (true)
            {
                await Task.Delay(every, cancellationToken);
                var updated = await HostQueue.UpdateMessageAsync(
                    messageId,
                    lease.PopReceipt,
                    visibilityTimeout: options.BlobMessageVisibility,
                    cancellationToken: cancellationToken
                );
                lease.PopReceipt = updated.Value.PopReceipt;
            }
        }
        catch (OperationCanceledException) { }
        catch (RequestFailedException e)
        {
            log.LogWarning("Could not extend blob trigger message {Id}: {Error}", messageId, e.Message);
        }
    }

    private sealed class MessageLease(string popReceipt)
    {
        public string PopReceipt { get; set; } = popReceipt;
    }
}
