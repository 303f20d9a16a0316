using System.Buffers;
using Mlops.Core.Storage;
using Mlops.Monitoring.Reference;

namespace Mlops.Monitoring.Window;

/// <summary>
/// Reads one model's production window from the prediction log: the hourly blobs
/// <c>{container}/{model}/{yyyy}/{MM}/{dd}/{HH}/{host}-{part}.jsonl</c> whose hour overlaps [from, to), and within them
/// the lines whose <c>at</c> falls in the window. The cost is O(rows in those hours): nothing outside the window's
/// hours is listed or read, and the training data is never touched. Blobs are streamed in chunks and parsed on up to
/// <c>maxParallelism</c> threads (default: every core; a host that serves predictions in the same process passes
/// fewer, so a monitor run leaves a core to the predict path).
/// </summary>
public sealed class PredictionLogReader(IBlobStore blobs, string container = "predictions", int? maxParallelism = null)
{
    private const int ChunkBytes = 4 << 20;

    /// <summary>The blob-name prefixes of the hours that overlap [from, to).</summary>
    public static IEnumerable<string> HourPrefixes(string model, DateTimeOffset from, DateTimeOffset to)
    {
        var hour = new DateTimeOffset(from.UtcDateTime.Date.AddHours(from.UtcDateTime.Hour), TimeSpan.Zero);
        for (; hour < to; hour = hour.AddHours(1))
            yield return $"{model}/{hour.UtcDateTime:yyyy/MM/dd/HH}/";
    }

    /// <summary>
    /// Summarizes the window against <paramref name="reference"/>: per-feature values and quality counts, the output
    /// distribution, and the predictions whose ids are in <paramref name="labeledIds"/> (for the feedback join).
    /// </summary>
    /// <param name="model">Model name.</param>
    /// <param name="reference">Reference profile of the serving version (defines the columns and outputs read).</param>
    /// <param name="from">Window start (inclusive).</param>
    /// <param name="to">Window end (exclusive).</param>
    /// <param name="version">Only lines of this version (null: every version served in the window).</param>
    /// <param name="labeledIds">Prediction ids that have labels; their outputs are kept.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<WindowData> ReadAsync(
        string model,
        ReferenceProfile reference,
        DateTimeOffset from,
        DateTimeOffset to,
        int? version = null,
        IReadOnlySet<string>? labeledIds = null,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (to <= from)
            throw new MonitoringException(
                "monitoring.window",
                $"The window end {to:O} must be after its start {from:O}."
            );
        var parser = new LogLineParser(reference, from, to, version, labeledIds);
        var total = new WindowAccumulator(reference);
        long malformed = 0,
            blobCount = 0,
            bytes = 0;
        var pending = new List<Task<(WindowAccumulator Acc, long Malformed)>>();
        // At most `parallelism` chunks parse at once; the next one is read from storage meanwhile.
        int parallelism = Math.Max(1, maxParallelism ?? Environment.ProcessorCount);
        using var throttle = new SemaphoreSlim(parallelism);
        foreach (var prefix in HourPrefixes(model, from, to))
        {
            await foreach (var blob in blobs.ListAsync(container, prefix, cancellationToken).ConfigureAwait(false))
            {
                if (!blob.Name.EndsWith(".jsonl", StringComparison.Ordinal))
                    continue;
                blobCount++;
                using var stream = await blobs
                    .OpenLogReadAsync(container, blob.Name, cancellationToken)
                    .ConfigureAwait(false);
                if (stream is null)
                    continue; // deleted between listing and reading
                await foreach (var chunk in ReadLineChunksAsync(stream, cancellationToken).ConfigureAwait(false))
                {
                    bytes += chunk.Length;
                    await throttle.WaitAsync(cancellationToken).ConfigureAwait(false);
                    pending.Add(
                        Task.Run(
                            () =>
                            {
                                try
                                {
                                    return ParseChunk(parser, reference, chunk);
                                }
                                finally
                                {
                                    ArrayPool<byte>.Shared.Return(chunk.Buffer);
                                    throttle.Release();
                                }
                            },
                            cancellationToken
                        )
                    );
                }
            }
        }
        foreach (var (acc, bad) in await Task.WhenAll(pending).ConfigureAwait(false))
        {
            total.Merge(acc);
            malformed += bad;
        }
        return WindowData.Create(total, from, to, malformed, blobCount, bytes, parallelism);
    }

    private static (WindowAccumulator, long) ParseChunk(
        LogLineParser prototype,
        ReferenceProfile reference,
        LineChunk chunk
    )
    {
        // The parser keeps per-line scratch state, so each chunk gets its own copy of it.
        var parser = prototype.Clone();
        var acc = new WindowAccumulator(reference);
        long malformed = 0;
        var span = chunk.Buffer.AsSpan(0, chunk.Length);
        while (!span.IsEmpty)
        {
            int nl = span.IndexOf((byte)'\n');
            var line = nl < 0 ? span : span[..nl];
            parser.Parse(line, acc, ref malformed);
            span = nl < 0 ? default : span[(nl + 1)..];
        }
        return (acc, malformed);
    }

    /// <summary>A pooled buffer holding whole lines (return <see cref="Buffer"/> to the shared pool when
    /// done).</summary>
    internal readonly record struct LineChunk(byte[] Buffer, int Length);

    // Cuts the stream into pooled chunks of about ChunkBytes that end at a newline (a longer line grows its chunk).
    internal static async IAsyncEnumerable<LineChunk> ReadLineChunksAsync(
        Stream stream,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct
    )
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, filled).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
            int read = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (read == 0)
            {
                if (filled > 0)
                    yield return new LineChunk(buffer, filled);
                else
                    ArrayPool<byte>.Shared.Return(buffer);
                yield break;
            }
            filled += read;
            if (filled < buffer.Length)
                continue;
            int cut = buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
            if (cut == 0)
                continue; // one line longer than the buffer: grow and keep reading
            var next = ArrayPool<byte>.Shared.Rent(ChunkBytes);
            buffer.AsSpan(cut, filled - cut).CopyTo(next);
            yield return new LineChunk(buffer, cut);
            filled -= cut;
            buffer = next;
        }
    }
}
