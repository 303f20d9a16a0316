using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;

namespace Mlops.Serving;

/// <summary>One answered request waiting to be logged (and mirrored to shadow versions).</summary>
internal sealed class PredictionLogEntry
{
    public required string Model { get; init; }
    public required int Version { get; init; }
    public required ModelSignature Signature { get; init; }
    public string? RequestKey { get; init; }
    public DateTimeOffset At { get; init; }
    public double LatencyMs { get; init; }
    /// <summary>Copy of the request body (the rows are re-read from it off the hot path).</summary>
    public required byte[] Body { get; init; }
    public Prediction[]? Outputs { get; init; }
    public LoadedVersion[]? Shadows { get; init; }
    /// <summary>False when the request was not sampled for logging but still needs its shadows run.</summary>
    public bool Log { get; init; } = true;
}

/// <summary>
/// Writes the prediction log and runs shadow versions, both off the request path. Requests hand entries to a bounded
/// in-memory channel with <c>TryWrite</c> (never waiting; a full buffer drops and counts the entry). This background
/// service mirrors each entry to the shadow versions, then appends JSON lines in batches to hourly append blobs
/// <c>{container}/{model}/{yyyy}/{MM}/{dd}/{HH}/{host}-{part}.jsonl</c>: one append per second or per
/// <see cref="ServingOptions.PredictionLogMaxBatchBytes"/>, so storage sees a few writes a second at any request rate.
/// </summary>
public sealed class PredictionLogger : BackgroundService
{
    // An append blob accepts 50,000 blocks; start a new part well before that.
    private const int MaxAppendsPerBlob = 45_000;

    private readonly Channel<PredictionLogEntry> _channel;
    private readonly IBlobStore _blobs;
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Dictionary<string, ArrayBufferWriter<byte>> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Part, int Appends)> _parts = new(StringComparer.Ordinal);
    // Serializes the background loop and explicit flushes (the buffers are not thread-safe).
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Created by <c>AddServing</c>.</summary>
    public PredictionLogger(IBlobStore blobs, ServingOptions options, ServingRuntime runtime, ILogger<PredictionLogger> logger)
    {
        _blobs = blobs;
        _options = options;
        _metrics = runtime.Metrics;
        _logger = logger;
        _channel = Channel.CreateBounded<PredictionLogEntry>(new BoundedChannelOptions(options.PredictionLogCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite this means "refuse when full", never block
            SingleReader = true,
        });
    }

    private long _bufferedBytes;

    internal void Enqueue(PredictionLogEntry entry)
    {
        // Bound memory by bytes as well as entries: one 1000-row request carries hundreds of kilobytes.
        if (Interlocked.Add(ref _bufferedBytes, entry.Body.Length) > _options.PredictionLogMaxBufferedBytes || !_channel.Writer.TryWrite(entry))
        {
            Interlocked.Add(ref _bufferedBytes, -entry.Body.Length);
            _metrics.LogDropped.Increment();
        }
    }

    /// <summary>Entries waiting to be processed (tests, monitoring).</summary>
    public int Backlog => _channel.Reader.Count;

    /// <summary>Processes everything queued so far and appends all pending lines (tests and shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (_channel.Reader.TryRead(out var entry)) Process(entry);
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
        var reader = _channel.Reader;
        long lastFlush = Stopwatch.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var remaining = _options.PredictionLogFlushInterval - Stopwatch.GetElapsedTime(lastFlush);
                if (remaining > TimeSpan.Zero)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(remaining);
                    try { await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested) { }
                }
                await _gate.WaitAsync(stoppingToken).ConfigureAwait(false);
                try
                {
                    long bytes = 0;
                    while (bytes < _options.PredictionLogMaxBatchBytes && reader.TryRead(out var entry))
                    {
                        Process(entry);
                        bytes = 0;
                        foreach (var b in _pending.Values) bytes += b.WrittenCount;
                    }
                    if (Stopwatch.GetElapsedTime(lastFlush) >= _options.PredictionLogFlushInterval || bytes >= _options.PredictionLogMaxBatchBytes)
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
        try { await FlushAsync(CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) { _logger.LogWarning(e, "Final prediction log flush failed."); }
    }

    private void Process(PredictionLogEntry entry)
    {
        Interlocked.Add(ref _bufferedBytes, -entry.Body.Length);
        JsonDocument? doc = null;
        try
        {
            doc = JsonDocument.Parse(entry.Body);
            var rows = doc.RootElement.GetProperty("rows");
            if (entry.Log && _options.PredictionLogEnabled)
                WriteLine(entry.Model, entry.At, entry.Version, shadow: false, entry.RequestKey, entry.LatencyMs, rows, entry.Signature, entry.Outputs, error: null);
            if (entry.Shadows is { Length: > 0 } shadows)
            {
                var rowArray = rows.EnumerateArray().ToArray();
                foreach (var shadow in shadows) RunShadow(entry, shadow, rows, rowArray);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            _logger.LogWarning(e, "Could not log a prediction of {Model} v{Version}.", entry.Model, entry.Version);
        }
        finally
        {
            doc?.Dispose();
        }
    }

    private void RunShadow(PredictionLogEntry entry, LoadedVersion shadow, JsonElement rows, JsonElement[] rowArray)
    {
        long start = Stopwatch.GetTimestamp();
        Prediction[]? outputs = null;
        string? error = null;
        var problems = InputValidator.Validate(shadow.Servable.Signature, rowArray, _options.AllowNullValues, 5);
        if (problems is not null)
        {
            error = "invalid for the shadow version's schema: " + string.Join("; ", problems.Select(p => p.Message));
        }
        else
        {
            try
            {
                outputs = new Prediction[rowArray.Length];
                shadow.Servable.Predict(rowArray, outputs);
            }
            catch (Exception e)
            {
                error = $"{e.GetType().Name}: {e.Message}";
                outputs = null;
            }
        }
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        shadow.Stats.Record(ms, error is not null);
        if (error is null) _metrics.ShadowPredictions.Increment(); else _metrics.ShadowFailures.Increment();
        if (entry.Log && _options.PredictionLogEnabled)
            WriteLine(entry.Model, entry.At, shadow.Version, shadow: true, entry.RequestKey, ms, rows, shadow.Servable.Signature, outputs, error);
    }

    private void WriteLine(string model, DateTimeOffset at, int version, bool shadow, string? requestKey, double latencyMs,
        JsonElement rows, ModelSignature signature, Prediction[]? outputs, string? error)
    {
        string blob = $"{model}/{at.UtcDateTime:yyyy/MM/dd/HH}/{_options.HostId}";
        if (!_pending.TryGetValue(blob, out var buffer)) _pending[blob] = buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("at", at);
            w.WriteString("model", model);
            w.WriteNumber("version", version);
            w.WriteBoolean("shadow", shadow);
            if (requestKey is not null) w.WriteString("requestKey", requestKey);
            w.WriteNumber("latencyMs", Math.Round(latencyMs, 3));
            w.WritePropertyName("inputs");
            rows.WriteTo(w);
            if (outputs is not null)
            {
                w.WritePropertyName("outputs");
                PredictionJson.WritePredictions(w, signature, outputs);
            }
            if (error is not null) w.WriteString("error", error);
            w.WriteEndObject();
        }
        buffer.Write("\n"u8);
        _metrics.LogWritten.Increment();
    }

    private async Task AppendAllAsync(CancellationToken ct)
    {
        foreach (var (blob, buffer) in _pending)
        {
            if (buffer.WrittenCount == 0) continue;
            var data = buffer.WrittenMemory;
            // Split at line boundaries so no append exceeds the 4 MiB block limit.
            int offset = 0;
            while (offset < data.Length)
            {
                int take = Math.Min(_options.PredictionLogMaxBatchBytes, data.Length - offset);
                if (offset + take < data.Length)
                {
                    int nl = data.Span.Slice(offset, take).LastIndexOf((byte)'\n');
                    if (nl >= 0) take = nl + 1;
                }
                await AppendAsync(blob, data.Slice(offset, take), ct).ConfigureAwait(false);
                offset += take;
            }
            buffer.Clear();
        }
        // Buffers of past hours are done with: drop them so the dictionary stays small.
        foreach (var key in _pending.Where(p => p.Value.WrittenCount == 0).Select(p => p.Key).ToList())
            if (_pending.Count > 16) _pending.Remove(key);
    }

    private async Task AppendAsync(string blob, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var (part, appends) = _parts.GetValueOrDefault(blob);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (appends >= MaxAppendsPerBlob) { part++; appends = 0; }
            try
            {
                await _blobs.AppendAsync(_options.PredictionLogContainer, $"{blob}-{part}.jsonl", data, ct).ConfigureAwait(false);
                _parts[blob] = (part, appends + 1);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Most likely a full append blob left by an earlier process with the same host id: move to the next part.
                if (attempt == 1)
                {
                    _metrics.LogWriteFailures.Increment();
                    _logger.LogWarning(e, "Appending {Bytes} bytes to the prediction log {Blob} failed; those lines are lost.", data.Length, blob);
                }
                appends = MaxAppendsPerBlob;
            }
        }
        _parts[blob] = (part, appends);
    }
}
