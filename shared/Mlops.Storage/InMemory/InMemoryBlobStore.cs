using System.Runtime.CompilerServices;
using Mlops.Core.Storage;

namespace Mlops.Storage.InMemory;

/// <summary>In-process double of <see cref="IBlobStore"/> with the same conditional semantics (passes the same contract
/// tests).</summary>
public sealed class InMemoryBlobStore : IBlobStore
{
    private sealed record Entry(
        byte[] Data,
        string ETag,
        DateTimeOffset Modified,
        string? LeaseId,
        DateTimeOffset LeaseUntil,
        TimeSpan LeaseDuration = default
    );

    private readonly SortedDictionary<string, Entry> _blobs = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _etag;

    private static string Key(string container, string name) => container + "/" + name;

    private string NextETag() => $"\"0x{Interlocked.Increment(ref _etag):X}\"";

    public Task<BlobContent?> ReadAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult(
                _blobs.TryGetValue(Key(container, name), out var e) ? new BlobContent(e.Data.ToArray(), e.ETag) : null
            );
    }

    public async Task<Stream?> OpenReadAsync(
        string container,
        string name,
        CancellationToken cancellationToken = default
    ) =>
        await ReadAsync(container, name, cancellationToken) is { } c ? new MemoryStream(c.Data, writable: false) : null;

    public Task<Stream?> OpenLogReadAsync(
        string container,
        string name,
        CancellationToken cancellationToken = default
    ) => OpenReadAsync(container, name, cancellationToken); // a snapshot: appends made later are not seen

    public Task<string> WriteAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        WriteCondition condition = default,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
        {
            string key = Key(container, name);
            bool exists = _blobs.TryGetValue(key, out var current);
            if (condition.IfNotExists && exists)
                throw new StorageConflictException($"write {key}: blob already exists.");
            if (condition.IfMatch is { } m && (!exists || current!.ETag != m))
                throw new StorageConflictException($"write {key}: ETag mismatch.");
            var entry = new Entry(
                data.ToArray(),
                NextETag(),
                DateTimeOffset.UtcNow,
                current?.LeaseId,
                current?.LeaseUntil ?? default
            );
            _blobs[key] = entry;
            return Task.FromResult(entry.ETag);
        }
    }

    public async Task<string> UploadAsync(
        string container,
        string name,
        Stream content,
        CancellationToken cancellationToken = default
    )
    {
        using var ms = new MemoryStream();
        await content.CopyToAsync(ms, cancellationToken);
        return await WriteAsync(container, name, ms.ToArray(), default, cancellationToken);
    }

    public Task AppendAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
        {
            string key = Key(container, name);
            byte[] old = _blobs.TryGetValue(key, out var e) ? e.Data : Array.Empty<byte>();
            _blobs[key] = new Entry(
                [.. old, .. data.Span],
                NextETag(),
                DateTimeOffset.UtcNow,
                e?.LeaseId,
                e?.LeaseUntil ?? default
            );
        }
        return Task.CompletedTask;
    }

    public Task<BlobInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult(
                _blobs.TryGetValue(Key(container, name), out var e)
                    ? new BlobInfo(container, name, e.ETag, e.Data.Length, e.Modified)
                    : null
            );
    }

    public async IAsyncEnumerable<BlobInfo> ListAsync(
        string container,
        string prefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default
    )
    {
        List<BlobInfo> items;
        lock (_gate)
            items = _blobs
                .Where(kv => kv.Key.StartsWith(Key(container, prefix), StringComparison.Ordinal))
                .Select(kv => new BlobInfo(
                    container,
                    kv.Key[(container.Length + 1)..],
                    kv.Value.ETag,
                    kv.Value.Data.Length,
                    kv.Value.Modified
                ))
                .ToList();
        foreach (var i in items)
        {
            await Task.Yield();
            yield return i;
        }
    }

    public Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult(_blobs.Remove(Key(container, name)));
    }

    public Task<string?> TryAcquireLeaseAsync(
        string container,
        string name,
        TimeSpan duration,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
        {
            string key = Key(container, name);
            if (!_blobs.TryGetValue(key, out var e))
                e = new Entry(Array.Empty<byte>(), NextETag(), DateTimeOffset.UtcNow, null, default);
            if (e.LeaseId is not null && e.LeaseUntil > DateTimeOffset.UtcNow)
                return Task.FromResult<string?>(null);
            string id = Guid.NewGuid().ToString();
            _blobs[key] = e with
            {
                LeaseId = id,
                LeaseUntil = DateTimeOffset.UtcNow + duration,
                LeaseDuration = duration,
            };
            return Task.FromResult<string?>(id);
        }
    }

    public Task<bool> RenewLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
        {
            string key = Key(container, name);
            if (!_blobs.TryGetValue(key, out var e) || e.LeaseId != leaseId)
                return Task.FromResult(false);
            // A lapsed lease can be renewed only if nobody took it meanwhile, as on Azure; renewal restarts the
            // original duration.
            _blobs[key] = e with { LeaseUntil = DateTimeOffset.UtcNow + e.LeaseDuration };
            return Task.FromResult(true);
        }
    }

    public Task ReleaseLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
        {
            string key = Key(container, name);
            if (_blobs.TryGetValue(key, out var e) && e.LeaseId == leaseId)
                _blobs[key] = e with { LeaseId = null, LeaseUntil = default };
        }
        return Task.CompletedTask;
    }
}
