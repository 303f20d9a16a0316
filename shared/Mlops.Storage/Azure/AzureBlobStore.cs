using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Blob;
using Mlops.Core.Storage;

namespace Mlops.Storage.Azure;

/// <summary><see cref="IBlobStore"/> on WindowsAzure.Storage 9.3.3. Containers are created lazily on the first 404.</summary>
public sealed class AzureBlobStore : IBlobStore
{
    private readonly CloudBlobClient _client;
    private readonly ConcurrentDictionary<string, CloudBlobContainer> _containers = new();

    public AzureBlobStore(CloudStorageAccount account)
    {
        _client = account.CreateCloudBlobClient();
        _client.DefaultRequestOptions.RetryPolicy = AzureStorageAccount.RetryPolicy;
        _client.DefaultRequestOptions.MaximumExecutionTime = AzureStorageAccount.MaximumExecutionTime;
    }

    private CloudBlobContainer Container(string name) => _containers.GetOrAdd(name, n => _client.GetContainerReference(n));

    public async Task<BlobContent?> ReadAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var blob = Container(container).GetBlobReference(name);
        using var ms = new MemoryStream();
        try
        {
            await blob.DownloadToStreamAsync(ms, null, null, null, cancellationToken);
            return new BlobContent(ms.ToArray(), blob.Properties.ETag);
        }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return null; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"read {container}/{name}"); }
    }

    public async Task<Stream?> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var blob = Container(container).GetBlobReference(name);
        try { return await blob.OpenReadAsync(null, null, null, cancellationToken); }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return null; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"open {container}/{name}"); }
    }

    public Task<string> WriteAsync(string container, string name, ReadOnlyMemory<byte> data, WriteCondition condition = default, CancellationToken cancellationToken = default)
    {
        var access = condition.IfNotExists ? AccessCondition.GenerateIfNotExistsCondition()
            : condition.IfMatch is { } etag ? AccessCondition.GenerateIfMatchCondition(etag) : null;
        return WithContainer(container, $"write {container}/{name}", async () =>
        {
            var blob = Container(container).GetBlockBlobReference(name);
            byte[] bytes = data.ToArray();
            await blob.UploadFromByteArrayAsync(bytes, 0, bytes.Length, access, null, null, cancellationToken);
            return blob.Properties.ETag;
        });
    }

    public Task<string> UploadAsync(string container, string name, Stream content, CancellationToken cancellationToken = default)
    {
        long start = content.CanSeek ? content.Position : 0;
        return WithContainer(container, $"upload {container}/{name}", async () =>
        {
            if (content.CanSeek) content.Position = start;
            var blob = Container(container).GetBlockBlobReference(name);
            await blob.UploadFromStreamAsync(content, null, null, null, cancellationToken);
            return blob.Properties.ETag;
        });
    }

    public Task AppendAsync(string container, string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        WithContainer(container, $"append {container}/{name}", async () =>
        {
            var blob = Container(container).GetAppendBlobReference(name);
            byte[] bytes = data.ToArray();
            try
            {
                await blob.AppendBlockAsync(new MemoryStream(bytes), null, null, null, null, cancellationToken);
            }
            catch (StorageException e) when (AzureErrors.IsNotFound(e) && AzureErrors.Code(e) != "ContainerNotFound")
            {
                try { await blob.CreateOrReplaceAsync(AccessCondition.GenerateIfNotExistsCondition(), null, null, cancellationToken); }
                catch (StorageException c) when (AzureErrors.IsConflict(c)) { /* created by a racing writer */ }
                await blob.AppendBlockAsync(new MemoryStream(bytes), null, null, null, null, cancellationToken);
            }
            return "";
        });

    public async Task<BlobInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var blob = Container(container).GetBlobReference(name);
        try
        {
            await blob.FetchAttributesAsync(null, null, null, cancellationToken);
            return new BlobInfo(container, name, blob.Properties.ETag, blob.Properties.Length, blob.Properties.LastModified ?? DateTimeOffset.MinValue);
        }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return null; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"properties of {container}/{name}"); }
    }

    public async IAsyncEnumerable<BlobInfo> ListAsync(string container, string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        BlobContinuationToken? token = null;
        do
        {
            BlobResultSegment segment;
            try
            {
                segment = await Container(container).ListBlobsSegmentedAsync(prefix, true, BlobListingDetails.None, 5000, token, null, null, cancellationToken);
            }
            catch (StorageException e) when (AzureErrors.IsNotFound(e)) { yield break; }
            catch (StorageException e) { throw AzureErrors.Translate(e, $"list {container}/{prefix}"); }
            foreach (var item in segment.Results.OfType<CloudBlob>())
                yield return new BlobInfo(container, item.Name, item.Properties.ETag, item.Properties.Length, item.Properties.LastModified ?? DateTimeOffset.MinValue);
            token = segment.ContinuationToken;
        } while (token is not null);
    }

    public async Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        try { return await Container(container).GetBlobReference(name).DeleteIfExistsAsync(DeleteSnapshotsOption.None, null, null, null, cancellationToken); }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return false; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"delete {container}/{name}"); }
    }

    public async Task<string?> TryAcquireLeaseAsync(string container, string name, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var blob = Container(container).GetBlockBlobReference(name);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try { return await blob.AcquireLeaseAsync(duration, null, null, null, null, cancellationToken); }
            catch (StorageException e) when (AzureErrors.Status(e) == 409) { return null; }
            catch (StorageException e) when (AzureErrors.IsNotFound(e) && attempt == 0)
            {
                try { await WriteAsync(container, name, Array.Empty<byte>(), WriteCondition.NotExists, cancellationToken); }
                catch (StorageConflictException) { /* another process created the lock blob first */ }
            }
            catch (StorageException e) { throw AzureErrors.Translate(e, $"lease {container}/{name}"); }
        }
        return null;
    }

    public async Task<bool> RenewLeaseAsync(string container, string name, string leaseId, CancellationToken cancellationToken = default)
    {
        try
        {
            await Container(container).GetBlockBlobReference(name).RenewLeaseAsync(AccessCondition.GenerateLeaseCondition(leaseId), null, null, cancellationToken);
            return true;
        }
        catch (StorageException e) when (AzureErrors.Status(e) is 409 or 412 or 404) { return false; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"renew lease {container}/{name}"); }
    }

    public async Task ReleaseLeaseAsync(string container, string name, string leaseId, CancellationToken cancellationToken = default)
    {
        try { await Container(container).GetBlockBlobReference(name).ReleaseLeaseAsync(AccessCondition.GenerateLeaseCondition(leaseId), null, null, cancellationToken); }
        catch (StorageException) { /* best effort: the lease expires by itself */ }
    }

    /// <summary>
    /// Runs a write; on ContainerNotFound creates the container once and retries (saves a round trip per write).
    /// Multi-block uploads report the SDK's StorageException wrapped in an AggregateException, so unwrap first.
    /// </summary>
    private async Task<T> WithContainer<T>(string container, string what, Func<Task<T>> write)
    {
        try { return await write(); }
        catch (Exception e) when (Unwrap(e) is { } se && AzureErrors.IsNotFound(se) && AzureErrors.Code(se) == "ContainerNotFound")
        {
            try { await Container(container).CreateIfNotExistsAsync(); }
            catch (StorageException c) when (AzureErrors.Status(c) == 409) { }
            try { return await write(); }
            catch (Exception e2) when (Unwrap(e2) is { } se2) { throw AzureErrors.Translate(se2, what); }
        }
        catch (Exception e) when (Unwrap(e) is { } se) { throw AzureErrors.Translate(se, what); }
    }

    private static StorageException? Unwrap(Exception e) => e switch
    {
        StorageException s => s,
        AggregateException a => a.Flatten().InnerExceptions.OfType<StorageException>().FirstOrDefault(),
        _ => e.InnerException is StorageException inner ? inner : null,
    };
}
