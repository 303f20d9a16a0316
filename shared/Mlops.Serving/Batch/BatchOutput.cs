using System.Text;
using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Storage;

namespace Mlops.Serving.Batch;

/// <summary>
/// The last step of a job: the errors of every chunk in one file, the manifest and, when asked, every part in one file.
/// Each is rewritten whole from the chunks' own blobs, so running it again (a retried activity, a resumed job) gives
/// the same files.
/// </summary>
public static class BatchOutput
{
    /// <summary>Header of the errors file.</summary>
    public const string ErrorsHeader = "row,column,problem\n";

    /// <summary>Writes errors.csv, the optional combined file and the manifest; returns the job's result.</summary>
    public static async Task<BatchResult> FinishAsync(
        IBlobStore blobs,
        FinishBatchRequest request,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(request);
        var job = request.Job;
        string container = BatchPaths.PredictionsContainer;
        var results = request.Results.OrderBy(r => r.Index).ToList();
        var pieces = results.Where(r => r.Errors > 0).Select(r => BatchPaths.ErrorPiece(job.Output, r.Index)).ToList();
        string errorsBlob = BatchPaths.Errors(job.Output);
        if (pieces.Count == 0)
        {
            // Written whole: this may be the job's first blob (a header that did not fit), and creating the container
            // on the way must not be retried with a half-read stream.
            await blobs
                .WriteAsync(
                    container,
                    errorsBlob,
                    Encoding.UTF8.GetBytes(ErrorsHeader),
                    cancellationToken: cancellationToken
                )
                .ConfigureAwait(false);
        }
        else
        {
            await using var errors = new ConcatenatedCsvStream(
                blobs,
                container,
                pieces,
                Encoding.UTF8.GetBytes(ErrorsHeader)
            );
            await blobs.UploadAsync(container, errorsBlob, errors, cancellationToken).ConfigureAwait(false);
        }

        string? combined = null;
        var parts = results.Select(r => r.Part).ToList();
        if (job.Combine && request.Failure is null && parts.Count > 0)
        {
            combined = BatchPaths.Combined(job.Output);
            byte[] header = await ReadFirstLineAsync(blobs, container, parts[0], cancellationToken)
                .ConfigureAwait(false);
            await using var all = new ConcatenatedCsvStream(blobs, container, parts, header);
            await blobs.UploadAsync(container, combined, all, cancellationToken).ConfigureAwait(false);
        }

        long rows = results.Sum(r => r.Rows),
            errorRows = results.Sum(r => r.Errors);
        double seconds = Math.Max(0, (request.FinishedUtc - request.StartedUtc).TotalSeconds);
        string manifest = BatchPaths.Manifest(job.Output);
        var document = new
        {
            jobId = request.JobId,
            status = request.Failure is null ? "Completed" : "Failed",
            failure = request.Failure,
            model = job.Model,
            version = request.Version,
            input = $"{BatchPaths.ScoringContainer}/{job.Input}",
            inputETag = job.InputETag,
            trigger = job.Trigger,
            output = $"{container}/{job.Output}",
            columns = job.Columns,
            errorThreshold = job.ErrorThreshold,
            chunkRows = job.ChunkRows,
            rowsTotal = request.RowsTotal,
            rows,
            errors = errorRows,
            parts,
            errorsBlob,
            combined,
            logged = job.Log,
            explained = job.Explain,
            startedUtc = request.StartedUtc,
            finishedUtc = request.FinishedUtc,
            seconds,
            rowsPerSecond = seconds > 0 ? Math.Round(rows / seconds) : (double?)null,
            chunks = results.Select(r => new
            {
                index = r.Index,
                rows = r.Rows,
                errors = r.Errors,
                seconds = r.Seconds,
            }),
        };
        await blobs
            .WriteAsync(
                container,
                manifest,
                JsonSerializer.SerializeToUtf8Bytes(document, Json.Options),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        return new BatchResult(
            request.JobId,
            job.Model,
            request.Version ?? 0,
            rows,
            errorRows,
            job.Output,
            manifest,
            parts,
            errorsBlob,
            combined
        );
    }

    private static async Task<byte[]> ReadFirstLineAsync(
        IBlobStore blobs,
        string container,
        string name,
        CancellationToken cancellationToken
    )
    {
        await using var stream = await blobs.OpenReadAsync(container, name, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException($"The part {container}/{name} is missing.");
        var line = new MemoryStream();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false) == 1)
        {
            line.WriteByte(one[0]);
            if (one[0] == (byte)'\n')
                break;
        }
        return line.ToArray();
    }
}

/// <summary>
/// Reads several CSV blobs as one stream with one header: <paramref name="header"/> first, then each blob without its
/// own first line. One blob is open at a time, so a combined file of any size streams through a small buffer.
/// </summary>
internal sealed class ConcatenatedCsvStream(
    IBlobStore blobs,
    string container,
    IReadOnlyList<string> names,
    byte[] header
) : Stream
{
    private int _next;
    private int _headerSent;
    private Stream? _current;
    private long _position;

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
            return 0;
        if (_headerSent < header.Length)
        {
            int n = Math.Min(buffer.Length, header.Length - _headerSent);
            header.AsMemory(_headerSent, n).CopyTo(buffer);
            _headerSent += n;
            _position += n;
            return n;
        }
        while (true)
        {
            if (_current is null)
            {
                if (_next >= names.Count)
                    return 0;
                string name = names[_next++];
                _current = await blobs.OpenReadAsync(container, name, cancellationToken).ConfigureAwait(false)
                    ?? throw new IOException($"{container}/{name} is missing; run the job again to rewrite it.");
                var one = new byte[1];
                while (
                    await _current.ReadAsync(one, cancellationToken).ConfigureAwait(false) == 1 && one[0] != (byte)'\n'
                ) { }
            }
            int read = await _current.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read > 0)
            {
                _position += read;
                return read;
            }
            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override void Flush() { }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (_current is not null)
            await _current.DisposeAsync().ConfigureAwait(false);
        _current = null;
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
