using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Mlops.Core.Storage;
using BlobInfo = Mlops.Core.Storage.BlobInfo;

namespace Mlops.Storage.Azure;

/// <summary>
/// <see cref="IBlobStore"/> on Azure.Storage.Blobs. Containers are created lazily on the first ContainerNotFound, which
/// saves a round trip on every write to a container that exists.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private readonly BlobServiceClient _service;
    private readonly ConcurrentDictionary<string, BlobContainerClient> _containers = new(StringComparer.Ordinal);

    /// <summary>Creates the store over a service client (see <see cref="AzureStorageAccount"/>).</summary>
    public AzureBlobStore(BlobServiceClient service) => _service = service;

    private BlobContainerClient Container(string name) => _containers.GetOrAdd(name, _service.GetBlobContainerClient);

    /// <inheritdoc />
    public Task<BlobContent?> ReadAsync(string container, string name, CancellationToken cancellationToken = default) =>
        AzureErrors.GuardAsync(
            $"read {container}/{name}",
            async () =>
            {
                try
                {
                    BlobDownloadResult result = (
                        await Container(container)
                            .GetBlobClient(name)
                            .DownloadContentAsync(cancellationToken)
                            .ConfigureAwait(false)
                    ).Value;
                    return new BlobContent(result.Content.ToArray(), result.Details.ETag.ToString());
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return null;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default) =>
        AzureErrors.GuardAsync(
            $"open {container}/{name}",
            async () =>
            {
                // allowModifications: false pins the version read first, so a concurrent overwrite fails the read
                // instead of splicing two versions of a dataset together.
                try
                {
                    return (Stream?)
                        await Container(container)
                            .GetBlobClient(name)
                            .OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken)
                            .ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return null;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<Stream?> OpenLogReadAsync(
        string container,
        string name,
        CancellationToken cancellationToken = default
    ) =>
        AzureErrors.GuardAsync(
            $"open log {container}/{name}",
            async () =>
            {
                // An append blob only grows by whole appends, so reading on past a concurrent append (no ETag pin)
                // still yields a prefix that ends where an append ended; pinning would fail the read with 412 instead.
                try
                {
                    return (Stream?)
                        await Container(container)
                            .GetBlobClient(name)
                            .OpenReadAsync(new BlobOpenReadOptions(allowModifications: true), cancellationToken)
                            .ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return null;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<string> WriteAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        WriteCondition condition = default,
        CancellationToken cancellationToken = default
    )
    {
        var options = new BlobUploadOptions
        {
            Conditions =
                condition.IfNotExists ? new BlobRequestConditions { IfNoneMatch = ETag.All }
                : condition.IfMatch is { } etag ? new BlobRequestConditions { IfMatch = new ETag(etag) }
                : null,
        };
        return WithContainerAsync(
            container,
            $"write {container}/{name}",
            async () =>
            {
                var info = await Container(container)
                    .GetBlobClient(name)
                    .UploadAsync(BinaryData.FromBytes(data), options, cancellationToken)
                    .ConfigureAwait(false);
                return info.Value.ETag.ToString();
            },
            cancellationToken
        );
    }

    /// <inheritdoc />
    public Task<string> UploadAsync(
        string container,
        string name,
        Stream content,
        CancellationToken cancellationToken = default
    )
    {
        long start = content.CanSeek ? content.Position : 0;
        return WithContainerAsync(
            container,
            $"upload {container}/{name}",
            async () =>
            {
                if (content.CanSeek)
                    content.Position = start; // a retry after creating the container starts over
                var info = await Container(container)
                    .GetBlobClient(name)
                    .UploadAsync(content, overwrite: true, cancellationToken)
                    .ConfigureAwait(false);
                return info.Value.ETag.ToString();
            },
            cancellationToken
        );
    }

    /// <inheritdoc />
    public Task AppendAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        CancellationToken cancellationToken = default
    ) =>
        WithContainerAsync(
            container,
            $"append {container}/{name}",
            async () =>
            {
                var blob = Container(container).GetAppendBlobClient(name);
                try
                {
                    await blob.AppendBlockAsync(
                            BinaryData.FromBytes(data).ToStream(),
                            cancellationToken: cancellationToken
                        )
                        .ConfigureAwait(false);
                }
                catch (RequestFailedException e)
                    when (e.Status == 404 && e.ErrorCode != BlobErrorCode.ContainerNotFound)
                {
                    // First append: create the blob (a racing writer may create it first, which is fine) and append
                    // again.
                    await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    await blob.AppendBlockAsync(
                            BinaryData.FromBytes(data).ToStream(),
                            cancellationToken: cancellationToken
                        )
                        .ConfigureAwait(false);
                }
                return true;
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<BlobInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default) =>
        AzureErrors.GuardAsync(
            $"properties of {container}/{name}",
            async () =>
            {
                try
                {
                    BlobProperties p = (
                        await Container(container)
                            .GetBlobClient(name)
                            .GetPropertiesAsync(cancellationToken: cancellationToken)
                            .ConfigureAwait(false)
                    ).Value;
                    return new BlobInfo(container, name, p.ETag.ToString(), p.ContentLength, p.LastModified);
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return null;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public async IAsyncEnumerable<BlobInfo> ListAsync(
        string container,
        string prefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default
    )
    {
        var pages = Container(container)
            .GetBlobsAsync(
                new GetBlobsOptions { Prefix = string.IsNullOrEmpty(prefix) ? null : prefix },
                cancellationToken
            )
            .AsPages(pageSizeHint: 5000)
            .GetAsyncEnumerator(cancellationToken);
        await using (pages.ConfigureAwait(false))
        {
            while (true)
            {
                // The service lists in name order; a missing container lists nothing.
                bool more = await AzureErrors
                    .GuardAsync(
                        $"list {container}/{prefix}",
                        async () =>
                        {
                            try
                            {
                                return await pages.MoveNextAsync().ConfigureAwait(false);
                            }
                            catch (RequestFailedException e) when (e.Status == 404)
                            {
                                return false;
                            }
                        },
                        cancellationToken
                    )
                    .ConfigureAwait(false);
                if (!more)
                    yield break;
                foreach (BlobItem item in pages.Current.Values)
                    yield return new BlobInfo(
                        container,
                        item.Name,
                        item.Properties.ETag?.ToString() ?? "",
                        item.Properties.ContentLength ?? 0,
                        item.Properties.LastModified ?? DateTimeOffset.MinValue
                    );
            }
        }
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default) =>
        AzureErrors.GuardAsync(
            $"delete {container}/{name}",
            async () =>
            {
                try
                {
                    return (
                        await Container(container)
                            .GetBlobClient(name)
                            .DeleteIfExistsAsync(cancellationToken: cancellationToken)
                            .ConfigureAwait(false)
                    ).Value;
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return false;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public async Task<string?> TryAcquireLeaseAsync(
        string container,
        string name,
        TimeSpan duration,
        CancellationToken cancellationToken = default
    )
    {
        var lease = Container(container).GetBlobClient(name).GetBlobLeaseClient();
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                return (await lease.AcquireAsync(duration, cancellationToken: cancellationToken).ConfigureAwait(false))
                    .Value
                    .LeaseId;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                return null;
            }
            catch (RequestFailedException e) when (e.Status == 404 && attempt == 0)
            {
                // Leases need a blob: create the empty lock blob (and its container) once, then try again.
                try
                {
                    await WriteAsync(
                            container,
                            name,
                            ReadOnlyMemory<byte>.Empty,
                            WriteCondition.NotExists,
                            cancellationToken
                        )
                        .ConfigureAwait(false);
                }
                catch (StorageConflictException)
                { /* another process created the lock blob first */
                }
            }
            catch (Exception e) when (AzureErrors.IsStorageFailure(e, cancellationToken))
            {
                throw AzureErrors.Translate(e, $"lease {container}/{name}");
            }
        }
        return null;
    }

    /// <inheritdoc />
    public Task<bool> RenewLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    ) =>
        AzureErrors.GuardAsync(
            $"renew lease {container}/{name}",
            async () =>
            {
                try
                {
                    await Container(container)
                        .GetBlobClient(name)
                        .GetBlobLeaseClient(leaseId)
                        .RenewAsync(cancellationToken: cancellationToken)
                        .ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException e) when (e.Status is 409 or 412 or 404)
                {
                    return false;
                }
            },
            cancellationToken
        );

    /// <inheritdoc />
    public async Task ReleaseLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    )
    {
        try
        {
            await Container(container)
                .GetBlobClient(name)
                .GetBlobLeaseClient(leaseId)
                .ReleaseAsync(cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (AzureErrors.IsStorageFailure(e, cancellationToken))
        { /* best effort: the lease expires by itself */
        }
    }

    /// <summary>Runs a write; on ContainerNotFound creates the container once and runs it again.</summary>
    private Task<T> WithContainerAsync<T>(
        string container,
        string what,
        Func<Task<T>> write,
        CancellationToken cancellationToken
    ) =>
        AzureErrors.GuardAsync(
            what,
            async () =>
            {
                try
                {
                    return await write().ConfigureAwait(false);
                }
                catch (Exception e)
                    when (AzureErrors.IsNotFound(e) && AzureErrors.Code(e) == BlobErrorCode.ContainerNotFound.ToString()
                    )
                {
                    await Container(container)
                        .CreateIfNotExistsAsync(cancellationToken: cancellationToken)
                        .ConfigureAwait(false);
                    return await write().ConfigureAwait(false);
                }
            },
            cancellationToken
        );
}
