using System.Runtime.CompilerServices;
using Mlops.Core.Storage;

namespace Mlops.Bench.Monitor;

/// <summary>
/// Blobs as files under a directory (<c>{root}/{container}/{name}</c>), so the monitor benchmark reads a 1M-prediction
/// log from disk as the Python peer reads its CSVs, without a storage emulator in between. Leases are not supported.
/// </summary>
internal sealed class FileBlobStore(string root) : IBlobStore
{
    private string PathOf(string container, string name) => Path.Combine(root, container, name);

    public async Task<BlobContent?> ReadAsync(
        string container,
        string name,
        CancellationToken cancellationToken = default
    ) =>
        File.Exists(PathOf(container, name))
            ? new BlobContent(await File.ReadAllBytesAsync(PathOf(container, name), cancellationToken), "*")
            : null;

    public Task<Stream?> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default) =>
        Task.FromResult<Stream?>(
            File.Exists(PathOf(container, name))
                ? new FileStream(
                    PathOf(container, name),
                    FileMode.Open,
                    FileAccess.Read,
                    FileShare.Read,
                    1 << 16,
                    useAsync: true
                )
                : null
        );

    public Task<Stream?> OpenLogReadAsync(
        string container,
        string name,
        CancellationToken cancellationToken = default
    ) => OpenReadAsync(container, name, cancellationToken);

    public async Task<string> WriteAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        WriteCondition condition = default,
        CancellationToken cancellationToken = default
    )
    {
        var path = PathOf(container, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, data.ToArray(), cancellationToken);
        return "*";
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

    public async Task AppendAsync(
        string container,
        string name,
        ReadOnlyMemory<byte> data,
        CancellationToken cancellationToken = default
    )
    {
        var path = PathOf(container, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var f = new FileStream(path, FileMode.Append, FileAccess.Write);
        await f.WriteAsync(data, cancellationToken);
    }

    public Task<BlobInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var f = new FileInfo(PathOf(container, name));
        return Task.FromResult(f.Exists ? new BlobInfo(container, name, "*", f.Length, f.LastWriteTimeUtc) : null);
    }

    public async IAsyncEnumerable<BlobInfo> ListAsync(
        string container,
        string prefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default
    )
    {
        string dir = Path.Combine(root, container);
        if (!Directory.Exists(dir))
            yield break;
        // Prefixes here end at a folder boundary ("model/yyyy/MM/dd/HH/"), so only that folder is walked.
        string start = Path.Combine(dir, prefix[..(prefix.LastIndexOf('/') + 1)]);
        if (!Directory.Exists(start))
            yield break;
        foreach (
            var file in Directory.EnumerateFiles(start, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
        )
        {
            string name = Path.GetRelativePath(dir, file).Replace('\\', '/');
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            var info = new FileInfo(file);
            yield return new BlobInfo(container, name, "*", info.Length, info.LastWriteTimeUtc);
            await Task.Yield();
        }
    }

    public Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(container, name);
        bool existed = File.Exists(path);
        File.Delete(path);
        return Task.FromResult(existed);
    }

    public Task<string?> TryAcquireLeaseAsync(
        string container,
        string name,
        TimeSpan duration,
        CancellationToken cancellationToken = default
    ) => throw new NotSupportedException();

    public Task<bool> RenewLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    ) => throw new NotSupportedException();

    public Task ReleaseLeaseAsync(
        string container,
        string name,
        string leaseId,
        CancellationToken cancellationToken = default
    ) => throw new NotSupportedException();
}
