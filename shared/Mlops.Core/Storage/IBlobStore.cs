namespace Mlops.Core.Storage;

/// <summary>Properties of a stored blob. The ETag changes on every write, so it identifies one version of the
/// content.</summary>
public sealed record BlobInfo(string Container, string Name, string ETag, long Length, DateTimeOffset LastModified);

/// <summary>A blob's bytes together with the ETag of the version that was read.</summary>
public sealed record BlobContent(byte[] Data, string ETag);

/// <summary>
/// Port for blob storage. Artifacts (datasets, models, reports) live here. Conditional writes (ETag / create-only)
/// make activities idempotent and let several processes cooperate without a coordinator.
/// </summary>
public interface IBlobStore
{
    /// <summary>Reads a blob, or null when it does not exist.</summary>
    Task<BlobContent?> ReadAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>Opens a blob for streaming reads (large datasets), or null when it does not exist.</summary>
    Task<Stream?> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens an append blob that other processes keep appending to (a log) for streaming reads, or null when it does
    /// not exist. Unlike <see cref="OpenReadAsync"/> an append made while reading does not fail the read: the stream
    /// ends at a length the blob had during the read, which is always the end of a whole append.
    /// </summary>
    Task<Stream?> OpenLogReadAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a blob (creating the container if needed) and returns the new ETag.
    /// With <see cref="WriteCondition.Match"/> the write succeeds only if the blob still has that ETag; with
    /// <see cref="WriteCondition.IfNotExists"/> only if the blob does not exist. A failed condition throws
    /// <see cref="StorageConflictException"/>.
    /// </summary>
    Task<string> WriteAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        WriteCondition condition = default,
        CancellationToken cancellationToken = default
    );

    /// <summary>Uploads from a stream (large files), unconditionally. Returns the new ETag.</summary>
    Task<string> UploadAsync(
        string container,
        string name,
        Stream content,
        CancellationToken cancellationToken = default
    );

    /// <summary>Appends to an append blob, creating it when missing (logs: prediction log, metric curves,
    /// audit).</summary>
    Task AppendAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        CancellationToken cancellationToken = default
    );

    /// <summary>Blob properties, or null when the blob does not exist.</summary>
    Task<BlobInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>Lists blobs whose names start with <paramref name="prefix"/> (flat listing), in name order.</summary>
    IAsyncEnumerable<BlobInfo> ListAsync(
        string container,
        string prefix = "",
        CancellationToken cancellationToken = default
    );

    /// <summary>Deletes a blob; returns false when it did not exist.</summary>
    Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tries to take an exclusive lease on a blob (created empty when missing). Returns the lease id, or null when
    /// another holder has it. Leases make a timer tick or a partition owned by one process at a time.
    /// </summary>
    Task<string?> TryAcquireLeaseAsync(
        string container,
        string name,
        TimeSpan duration,
        CancellationToken cancellationToken = default
    );

    /// <summary>Renews a held lease; false when it was lost.</summary>
    Task<bool> RenewLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    );

    /// <summary>Releases a held lease (best effort).</summary>
    Task ReleaseLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    );
}

/// <summary>Condition for a blob or table write.</summary>
public readonly record struct WriteCondition(string? IfMatch, bool IfNotExists)
{
    public static WriteCondition None => default;
    public static WriteCondition NotExists => new(null, true);

    public static WriteCondition Match(string etag) => new(etag, false);
}
