using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Mlops.Data.Tabular;

namespace Mlops.ML.OutOfCore;

/// <summary>
/// The chunks of a CSV read on a background thread one or two chunks ahead of the consumer, so parsing (one core) and
/// featurizing/binning (the other) overlap. At most <c>depth</c> + 2 chunks are alive at any time.
/// </summary>
internal static class ChunkSource
{
    public static IEnumerable<DataTable> Read(
        Stream stream,
        CsvReaderOptions csv,
        int chunkRows,
        CancellationToken ct,
        int depth = 2
    ) => ReadAhead(CsvTableReader.ReadChunks(stream, csv, chunkRows), depth, ct);

    internal static IEnumerable<T> ReadAhead<T>(IEnumerable<T> source, int depth, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var queue = new BlockingCollection<T>(depth);
        Exception? failure = null;
        var producer = Task.Run(
            () =>
            {
                try
                {
                    foreach (var item in source)
                        queue.Add(item, stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                catch (Exception e)
                {
                    failure = e;
                }
                finally
                {
                    queue.CompleteAdding();
                }
            },
            CancellationToken.None
        );
        try
        {
            foreach (var item in queue.GetConsumingEnumerable(ct))
                yield return item;
        }
        finally
        {
            stop.Cancel(); // the consumer stopped early (error or break): release a producer blocked on a full queue
            producer.Wait(CancellationToken.None);
        }
        if (failure is not null)
            ExceptionDispatchInfo.Throw(failure);
    }
}

/// <summary>A read-only stream that computes the SHA-256 of the bytes read through it (the file's lineage hash, in the
/// scan pass).</summary>
internal sealed class HashingStream(Stream inner) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary><c>sha256:</c> and the hex digest of everything read so far.</summary>
    public string Digest() => "sha256:" + Convert.ToHexStringLower(_hash.GetCurrentHash());

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        _hash.AppendData(buffer[..n]);
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException();
    }

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
