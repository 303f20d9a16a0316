using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Mlops.Host.Triggers;

/// <summary>
/// A listener singleton across hosts, as the WebJobs SDK takes one (azure-webjobs-sdk f79ea0b: SingletonListener,
/// BlobLeaseDistributedLockManager): a blob lease on <c>azure-webjobs-hosts/locks/{hostId}/{lockId}</c>, the holder's
/// id in the blob's <c>FunctionInstance</c> metadata, renewed well before it lapses; a host that loses it stops
/// listening.
/// </summary>
public sealed class SingletonLock(
    BlobContainerClient hostsContainer,
    string hostId,
    string lockId,
    TimeSpan leasePeriod,
    string ownerId
)
{
    private string? _leaseId;
    private DateTimeOffset _renewAt;

    /// <summary>The lock blob's name.</summary>
    public string BlobName => $"locks/{hostId}/{lockId}";

    /// <summary>True while this instance holds the lease (as of the last acquire or renew).</summary>
    public bool IsHeld => _leaseId is not null;

    /// <summary>
    /// Acquires the lease when free, renews it when held and due; returns whether this host holds the lock now. Storage
    /// errors count as "not held" so a flaky account stops the listener rather than letting two hosts run it.
    /// </summary>
    public async Task<bool> TryHoldAsync(CancellationToken cancellationToken = default)
    {
        var blob = hostsContainer.GetBlobClient(BlobName);
        var now = DateTimeOffset.UtcNow;
        if (_leaseId is not null)
        {
            if (now < _renewAt)
                return true;
            try
            {
                await blob.GetBlobLeaseClient(_leaseId).RenewAsync(cancellationToken: cancellationToken);
                _renewAt = now + leasePeriod / 3;
                return true;
            }
            catch (RequestFailedException)
            {
                _leaseId = null;
                return false;
            }
        }
        try
        {
            await hostsContainer.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            if (!await blob.ExistsAsync(cancellationToken))
            {
                try
                {
                    await blob.UploadAsync(BinaryData.Empty, overwrite: false, cancellationToken);
                }
                catch (RequestFailedException e) when (e.Status is 409 or 412) { } // another host created it first
            }
            var lease = await blob.GetBlobLeaseClient().AcquireAsync(leasePeriod, cancellationToken: cancellationToken);
            _leaseId = lease.Value.LeaseId;
            _renewAt = now + leasePeriod / 3;
            await blob.SetMetadataAsync(
                new Dictionary<string, string> { ["FunctionInstance"] = ownerId },
                new BlobRequestConditions { LeaseId = _leaseId },
                cancellationToken
            );
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        } // leased by another host
    }

    /// <summary>Releases the lease if held (best effort: an unreleased lease lapses by itself).</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (_leaseId is null)
            return;
        string leaseId = _leaseId;
        _leaseId = null;
        try
        {
            await hostsContainer
                .GetBlobClient(BlobName)
                .GetBlobLeaseClient(leaseId)
                .ReleaseAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException) { }
    }
}
