using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;

namespace Mlops.Serving;

/// <summary>A request whose rows must also be run through the shadow versions (off the request path).</summary>
internal sealed class ShadowWork
{
    public required string Model { get; init; }
    public string? RequestKey { get; init; }
    public DateTimeOffset At { get; init; }

    /// <summary>Prediction ids of the rows (the shadow's log line carries the same ids as the answered one).</summary>
    public required string[] Ids { get; init; }

    /// <summary>Copy of the raw JSON of the request's <c>rows</c> array.</summary>
    public required byte[] Rows { get; init; }
    public required LoadedVersion[] Shadows { get; init; }

    /// <summary>Whether the request was sampled for logging (shadow lines follow the same sampling).</summary>
    public bool Log { get; init; }
}

/// <summary>
/// The prediction log and the shadow runner, built so that logging every request costs the request almost nothing.
/// A request serializes its log line (prediction ids, inputs verbatim, outputs, version, key, latency) straight into
/// one of a few lock-striped in-memory buffers — no per-request object outlives the request, which keeps the garbage
/// collector's work flat at any rate. This background service swaps the buffers out every
/// <see cref="ServingOptions.PredictionLogFlushInterval"/> (or when <see
/// cref="ServingOptions.PredictionLogMaxBatchBytes"/> accumulate) and appends them to hourly append blobs
/// <c>{container}/{model}/{yyyy}/{MM}/{dd}/{HH}/{host}-{part}.jsonl</c>, so storage sees a few writes a second whatever
/// the request rate. When the buffers hold
/// <see cref="ServingOptions.PredictionLogMaxBufferedBytes"/> (storage slow or down), lines are dropped and counted,
/// never blocking a request. Shadow versions get a copy of the rows through a bounded queue and run here — hence the
/// name: one background loop, so a shadow's log line is written by the same buffers as the answered one's.
/// </summary>
public sealed class PredictionLogAndShadowRunner : BackgroundService
{
    private static readonly JsonEncodedText IdsProp = JsonEncodedText.Encode("ids");

    // An append blob accepts 50,000 blocks; start a new part well before that.
    private const int MaxAppendsPerBlob = 45_000;

    private sealed class Shard
    {
        public Dictionary<string, ArrayBufferWriter<byte>> Buffers = new(StringComparer.Ordinal);

        /// <summary>The previous generation of buffers, emptied and kept for reuse: a buffer per flush would be a
        /// large-object allocation per flush, and those trigger full collections.</summary>
        public Dictionary<string, ArrayBufferWriter<byte>>? Spare;
        public readonly Dictionary<string, (long Hour, string Blob)> BlobNames = new(StringComparer.Ordinal);
        public Utf8JsonWriter? Writer;
        public long Bytes;
        public long Lines;
    }

    private readonly Shard[] _shards;
    private readonly long _maxShardBytes;
    private readonly Channel<ShadowWork> _shadows;
    private readonly IBlobStore _blobs;
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Dictionary<string, (int Part, int Appends)> _parts = new(StringComparer.Ordinal);

    // Serializes the background loop and explicit flushes.
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Created by <c>AddServing</c>.</summary>
    public PredictionLogAndShadowRunner(
        IBlobStore blobs,
        ServingOptions options,
        ServingRuntime runtime,
        ILogger<PredictionLogAndShadowRunner> logger
    )
    {
        _blobs = blobs;
        _options = options;
        _metrics = runtime.Metrics;
        _logger = logger;
        _shards = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount * 2)).Select(_ => new Shard()).ToArray();
        _maxShardBytes = Math.Max(64 * 1024, options.PredictionLogMaxBufferedBytes / _shards.Length);
        _shadows = Channel.CreateBounded<ShadowWork>(
            new BoundedChannelOptions(options.PredictionLogCapacity)
            {
                FullMode = BoundedChannelFullMode.Wait, // with TryWrite this means "refuse when full", never block
                SingleReader = true,
            }
        );
    }

    /// <summary>Shadow requests waiting to run (tests, monitoring).</summary>
    public int Backlog => _shadows.Reader.Count;

    /// <summary>Writes one log line into this thread's buffer stripe. Cheap and non-blocking (a short uncontended
    /// lock).</summary>
    internal void Write(
        string model,
        DateTimeOffset at,
        int version,
        bool shadow,
        string? requestKey,
        double latencyMs,
        ReadOnlySpan<string> ids,
        ReadOnlySpan<byte> rows,
        ModelSignature signature,
        ReadOnlySpan<Prediction> outputs,
        string? error
    )
    {
        var shard = _shards[(uint)Environment.CurrentManagedThreadId % (uint)_shards.Length];
        lock (shard)
        {
            if (shard.Bytes >= _maxShardBytes)
            {
                _metrics.LogDropped.Increment();
                return;
            }
            string blob = BlobFor(shard, model, at);
            if (!shard.Buffers.TryGetValue(blob, out var buffer))
                shard.Buffers[blob] = buffer = new ArrayBufferWriter<byte>(16 * 1024);
            int before = buffer.WrittenCount;
            var w = shard.Writer ??= new Utf8JsonWriter(buffer);
            w.Reset(buffer);
            w.WriteStartObject();
            w.WriteString("at", at);
            w.WriteString("model", model);
            w.WriteNumber("version", version);
            w.WriteBoolean("shadow", shadow);
            if (requestKey is not null)
                w.WriteString("requestKey", requestKey);
            w.WriteNumber("latencyMs", Math.Round(latencyMs, 3));
            if (!ids.IsEmpty)
                PredictionJson.WriteIds(w, IdsProp, ids);
            w.WritePropertyName("inputs");
            w.WriteRawValue(rows, skipInputValidation: true); // validated JSON from the request: copied verbatim
            if (error is null)
            {
                w.WritePropertyName("outputs");
                PredictionJson.WritePredictions(w, signature, outputs);
            }
            else
            {
                w.WriteString("error", error);
            }
            w.WriteEndObject();
            w.Flush();
            buffer.Write("\n"u8);
            shard.Bytes += buffer.WrittenCount - before;
            shard.Lines++;
        }
    }

    internal void EnqueueShadow(ShadowWork work)
    {
        if (!_shadows.Writer.TryWrite(work))
            _metrics.LogDropped.Increment();
    }

    // Formatting the hourly blob name per line would cost more than the line: cache it per model and hour.
    private string BlobFor(Shard shard, string model, DateTimeOffset at)
    {
        long hour = at.UtcTicks / TimeSpan.TicksPerHour;
        if (shard.BlobNames.TryGetValue(model, out var cached) && cached.Hour == hour)
            return cached.Blob;
        string blob = $"{model}/{at.UtcDateTime:yyyy/MM/dd/HH}/{_options.HostId}";
        shard.BlobNames[model] = (hour, blob);
        return blob;
    }

    /// <summary>Runs queued shadow work and appends every buffered line now (tests and shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            RunShadows();
            await AppendAllAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long lastFlush = Stopwatch.GetTimestamp();
        var tick = TimeSpan.FromMilliseconds(Math.Min(50, _options.PredictionLogFlushInterval.TotalMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, stoppingToken).ConfigureAwait(false);
                await _gate.WaitAsync(stoppingToken).ConfigureAwait(false);
                try
                {
                    RunShadows();
                    long buffered = 0;
                    foreach (var s in _shards)
                        buffered += Volatile.Read(ref s.Bytes);
                    if (
                        buffered >= _options.PredictionLogMaxBatchBytes
                        || Stopwatch.GetElapsedTime(lastFlush) >= _options.PredictionLogFlushInterval
                    )
                    {
                        await AppendAllAsync(stoppingToken).ConfigureAwait(false);
                        lastFlush = Stopwatch.GetTimestamp();
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The log must never take serving down; note it and keep going.
                _logger.LogError(e, "Prediction log loop failed; continuing.");
                await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
            }
        }
        try
        {
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Final prediction log flush failed.");
        }
    }

    private void RunShadows()
    {
        while (_shadows.Reader.TryRead(out var work))
        {
            try
            {
                using var doc = JsonDocument.Parse(work.Rows);
                var rows = doc.RootElement.EnumerateArray().ToArray();
                foreach (var shadow in work.Shadows)
                    RunShadow(work, shadow, rows);
            }
            catch (JsonException e)
            {
                _logger.LogWarning(e, "Shadow rows of {Model} could not be parsed.", work.Model);
            }
        }
    }

    private void RunShadow(ShadowWork work, LoadedVersion shadow, JsonElement[] rows)
    {
        long start = Stopwatch.GetTimestamp();
        Prediction[] outputs = new Prediction[rows.Length];
        string? error = null;
        var problems = InputValidator.Validate(shadow.Servable.Signature, rows, _options.AllowNullValues, 5);
        if (problems is not null)
        {
            error = "invalid for the shadow version's schema: " + string.Join("; ", problems.Select(p => p.Message));
        }
        else
        {
            try
            {
                shadow.Servable.Predict(rows, outputs);
            }
            catch (Exception e)
            {
                error = $"{e.GetType().Name}: {e.Message}";
            }
        }
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        shadow.Stats.Record(ms, error is not null);
        if (error is null)
            _metrics.ShadowPredictions.Increment();
        else
            _metrics.ShadowFailures.Increment();
        if (work.Log && _options.PredictionLogEnabled)
            Write(
                work.Model,
                work.At,
                shadow.Version,
                shadow: true,
                work.RequestKey,
                ms,
                work.Ids,
                work.Rows,
                shadow.Servable.Signature,
                outputs,
                error
            );
    }

    private async Task AppendAllAsync(CancellationToken ct)
    {
        // Swap each stripe's buffers out under its lock (a pointer swap), then append without holding any lock.
        var byBlob = new Dictionary<string, List<ArrayBufferWriter<byte>>>(StringComparer.Ordinal);
        var takenByShard = new List<(Shard Shard, Dictionary<string, ArrayBufferWriter<byte>> Buffers)>();
        foreach (var shard in _shards)
        {
            Dictionary<string, ArrayBufferWriter<byte>> taken;
            lock (shard)
            {
                if (shard.Bytes == 0)
                    continue;
                taken = shard.Buffers;
                shard.Buffers = shard.Spare ?? new Dictionary<string, ArrayBufferWriter<byte>>(StringComparer.Ordinal);
                shard.Spare = null;
                _metrics.LogWritten.Add(shard.Lines);
                shard.Bytes = 0;
                shard.Lines = 0;
            }
            foreach (var (blob, buffer) in taken)
            {
                if (!byBlob.TryGetValue(blob, out var list))
                    byBlob[blob] = list = [];
                list.Add(buffer);
            }
            takenByShard.Add((shard, taken));
        }
        foreach (var (blob, buffers) in byBlob)
        {
            // Pack whole lines into appends of at most the batch size (append blocks are limited to 4 MiB).
            var batch = _batch;
            batch.ResetWrittenCount();
            foreach (var buffer in buffers)
            {
                var data = buffer.WrittenMemory;
                int offset = 0;
                while (offset < data.Length)
                {
                    int room = _options.PredictionLogMaxBatchBytes - batch.WrittenCount;
                    int take = Math.Min(room, data.Length - offset);
                    if (offset + take < data.Length)
                    {
                        int nl = data.Span.Slice(offset, take).LastIndexOf((byte)'\n');
                        take = nl >= 0 ? nl + 1 : (batch.WrittenCount == 0 ? take : 0);
                    }
                    if (take > 0)
                    {
                        batch.Write(data.Span.Slice(offset, take));
                        offset += take;
                    }
                    if (batch.WrittenCount >= _options.PredictionLogMaxBatchBytes || take == 0)
                    {
                        await AppendAsync(blob, batch.WrittenMemory, ct).ConfigureAwait(false);
                        batch.ResetWrittenCount();
                    }
                }
            }
            if (batch.WrittenCount > 0)
                await AppendAsync(blob, batch.WrittenMemory, ct).ConfigureAwait(false);
        }
        // Hand the emptied buffers back for reuse, dropping those of blobs no longer written (a past hour).
        foreach (var (shard, buffers) in takenByShard)
        {
            lock (shard)
            {
                var current = shard.BlobNames.Values.Select(v => v.Blob).ToHashSet(StringComparer.Ordinal);
                foreach (var key in buffers.Keys.Where(k => !current.Contains(k)).ToList())
                    buffers.Remove(key);
                foreach (var buffer in buffers.Values)
                    buffer.ResetWrittenCount();
                shard.Spare = buffers;
            }
        }
    }

    private readonly ArrayBufferWriter<byte> _batch = new(64 * 1024);

    private async Task AppendAsync(string blob, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var (part, appends) = _parts.GetValueOrDefault(blob);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (appends >= MaxAppendsPerBlob)
            {
                part++;
                appends = 0;
            }
            try
            {
                await _blobs
                    .AppendAsync(_options.PredictionLogContainer, $"{blob}-{part}.jsonl", data, ct)
                    .ConfigureAwait(false);
                _parts[blob] = (part, appends + 1);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Most likely a full append blob left by an earlier process with the same host id: move to the next
                // part.
                if (attempt == 1)
                {
                    _metrics.LogWriteFailures.Increment();
                    _logger.LogWarning(
                        e,
                        "Appending {Bytes} bytes to the prediction log {Blob} failed; those lines are lost.",
                        data.Length,
                        blob
                    );
                }
                appends = MaxAppendsPerBlob;
            }
        }
        _parts[blob] = (part, appends);
    }
}
