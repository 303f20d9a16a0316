using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;

namespace Mlops.Functions.Triggers;

/// <summary>A blob version that fired a trigger.</summary>
public sealed record BlobTriggerEvent(string Container, string Name, string ETag, long Length, int Attempt);

/// <summary>Binds a blob-triggered function: which blobs fire it and the handler to call.</summary>
public sealed record BlobTriggerBinding(string FunctionName, string Container, Func<string, bool> Matches, Func<BlobTriggerEvent, CancellationToken, Task<string?>> Handler);

/// <summary>
/// The local blob trigger: scans the container every few seconds (the Functions host scans every 10 s), claims each new
/// blob version through <see cref="BlobReceipts"/>, calls the handler, and after <c>maxAttempts</c> failures parks the
/// blob as poison (receipt + message on <c>webjobs-blobtrigger-poison</c>) with its error. Nothing is dropped silently.
/// </summary>
public sealed class BlobTriggerListener(
    StorageServices storage, BlobTriggerBinding binding, string hostId, TimeSpan scanInterval, int maxAttempts,
    ILogger<BlobTriggerListener> log, Action<BlobInfo>? observeBlob = null, Func<int, TimeSpan>? retryBackoff = null) : BackgroundService
{
    public const string PoisonQueue = "webjobs-blobtrigger-poison";
    private readonly BlobReceipts _receipts = new(storage.Tables, hostId, binding.FunctionName);
    private readonly string _owner = OwnerId(Environment.MachineName, Environment.ProcessId, Guid.NewGuid());
    /// <summary>Blob versions known to be final, so steady-state scans cost one listing and no table reads.</summary>
    private readonly ConcurrentDictionary<string, bool> _done = new();

    /// <summary>
    /// Who holds a claim, readable in the receipts table: machine and process first, made unique by a GUID, at most 40
    /// characters. A short machine name with a low process id gives fewer than 40, so the cut must not assume more.
    /// </summary>
    public static string OwnerId(string machine, int processId, Guid unique)
    {
        string id = $"{machine}-{processId}-{unique:N}";
        return id.Length <= 40 ? id : id[..40];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await LoadFinalReceiptsAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await ScanOnceAsync(stoppingToken); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e) { log.LogWarning("Blob scan of '{Container}' failed, retrying: {Error}", binding.Container, e.Message); }
            try { await Task.Delay(scanInterval, stoppingToken); } catch (OperationCanceledException) { break; }
        }
    }

    private async Task LoadFinalReceiptsAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var r in await _receipts.ListAsync(binding.Container, "", cancellationToken))
                if (r.IsFinal) _done[r.BlobName + "|" + r.ETag] = true;
        }
        catch (Exception e) when (e is not OperationCanceledException) { log.LogWarning("Could not preload blob receipts: {Error}", e.Message); }
    }

    /// <summary>One pass over the container; public so tests can drive it deterministically.</summary>
    public async Task ScanOnceAsync(CancellationToken cancellationToken = default)
    {
        var work = new List<BlobInfo>();
        await foreach (var blob in storage.Blobs.ListAsync(binding.Container, "", cancellationToken))
        {
            observeBlob?.Invoke(blob);
            if (!binding.Matches(blob.Name) || _done.ContainsKey(blob.Name + "|" + blob.ETag)) continue;
            work.Add(blob);
        }
        foreach (var blob in work) await ProcessAsync(blob, cancellationToken);
    }

    private async Task ProcessAsync(BlobInfo blob, CancellationToken cancellationToken)
    {
        var claim = await _receipts.TryClaimAsync(binding.Container, blob.Name, blob.ETag, _owner, TimeSpan.FromSeconds(60), cancellationToken);
        if (claim is null)
        {
            var receipt = await _receipts.GetAsync(binding.Container, blob.Name, blob.ETag, cancellationToken);
            if (receipt is { IsFinal: true }) _done[blob.Name + "|" + blob.ETag] = true;
            return;
        }
        try
        {
            string? instanceId = await binding.Handler(new BlobTriggerEvent(blob.Container, blob.Name, blob.ETag, blob.Length, claim.Attempts + 1), cancellationToken);
            await _receipts.CompleteAsync(claim, BlobReceipt.Complete, instanceId, null, cancellationToken);
            _done[blob.Name + "|" + blob.ETag] = true;
        }
        catch (UnsupportedBlobException e)
        {
            await _receipts.CompleteAsync(claim, BlobReceipt.Ignored, null, e.Message, cancellationToken);
            _done[blob.Name + "|" + blob.ETag] = true;
            log.LogWarning("{Function}: ignored {Container}/{Blob}: {Reason}", binding.FunctionName, blob.Container, blob.Name, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            bool poison = await _receipts.FailAsync(claim, e.Message, maxAttempts, retryBackoff, cancellationToken);
            if (poison)
            {
                _done[blob.Name + "|" + blob.ETag] = true;
                await storage.Queues.EnqueueAsync(PoisonQueue, JsonSerializer.Serialize(new
                {
                    FunctionId = $"{hostId}.{binding.FunctionName}", BlobType = "BlockBlob", ContainerName = blob.Container, BlobName = blob.Name, ETag = blob.ETag, Error = e.Message,
                }), null, cancellationToken);
                log.LogError("{Function}: {Container}/{Blob} failed {Attempts} times and is parked as poison: {Error}", binding.FunctionName, blob.Container, blob.Name, maxAttempts, e.Message);
            }
            else log.LogWarning("{Function}: {Container}/{Blob} failed (attempt {Attempt}), will retry: {Error}", binding.FunctionName, blob.Container, blob.Name, claim.Attempts + 1, e.Message);
        }
    }
}

/// <summary>Thrown by a blob handler for a blob it will never process (e.g. an unsupported file type): recorded, not retried.</summary>
public sealed class UnsupportedBlobException(string message) : Exception(message);
