namespace Mlops.Serving;

/// <summary>Serving settings; validated by <see cref="Validate"/> when <c>AddServing</c> registers them.</summary>
public sealed class ServingOptions
{
    /// <summary>Largest number of rows in one predict request (KServe batches 32 by default; we accept client
    /// batches).</summary>
    public int MaxBatchRows { get; set; } = 1000;

    /// <summary>Largest request body in bytes; larger bodies are answered 413 before parsing.</summary>
    public long MaxBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How often each host checks the serving-state row of every model it serves (one point read per
    /// model).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an unknown model name is remembered as unknown, so 404 floods do not hit storage.</summary>
    public TimeSpan UnknownModelCacheTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Default of <see cref="UnknownModelCacheSize"/>.</summary>
    public const int DefaultUnknownModelCacheSize = 1000;

    /// <summary>
    /// Most unknown model names remembered at once. Names come from callers, so the negative cache is capped: random
    /// names cannot grow it without bound (past the cap, unknown names are simply looked up again).
    /// </summary>
    public int UnknownModelCacheSize { get; set; } = DefaultUnknownModelCacheSize;

    /// <summary>Header carrying the sticky-assignment key.</summary>
    public string RequestKeyHeader { get; set; } = "x-mlops-request-key";

    /// <summary>Body field carrying the sticky-assignment key (alternative to the header).</summary>
    public string RequestKeyField { get; set; } = "requestKey";

    /// <summary>Accept JSON null for a column (treated as a missing value; tree models route missing values).</summary>
    public bool AllowNullValues { get; set; } = true;

    /// <summary>Most validation problems listed in one 400 response.</summary>
    public int MaxReportedErrors { get; set; } = 50;

    /// <summary>Write predictions (inputs, outputs, version, latency) to the prediction log.</summary>
    public bool PredictionLogEnabled { get; set; } = true;

    /// <summary>
    /// Give every prediction an id (response <c>predictionIds</c>, header, log line). Internal and on by default:
    /// feedback and monitoring's label join need ids; it is switched off only by the benchmark that measures what ids
    /// cost (<c>bench serve-ids</c>), so both runs use the same build.
    /// </summary>
    internal bool PredictionIdsEnabled { get; set; } = true;

    /// <summary>Blob container of the prediction log: <c>{model}/{yyyy}/{MM}/{dd}/{HH}/{host}-{part}.jsonl</c> append
    /// blobs.</summary>
    public string PredictionLogContainer { get; set; } = "predictions";

    /// <summary>Share of requests logged (0..1). Shadow traffic is always computed; its log lines follow the same
    /// sampling.</summary>
    public double PredictionLogSampleRate { get; set; } = 1.0;

    /// <summary>Entries buffered in memory; when full, new entries are dropped (counted), never blocking a
    /// request.</summary>
    public int PredictionLogCapacity { get; set; } = 20_000;

    /// <summary>Request bytes held in the log buffer at most (batch requests are large; entries beyond this are dropped
    /// and counted).</summary>
    public long PredictionLogMaxBufferedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Longest time a log line waits before its batch is appended.</summary>
    public TimeSpan PredictionLogFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Append each request's log line to storage before answering it (default false). By default lines are buffered and
    /// appended every <see cref="PredictionLogFlushInterval"/>, so a process killed without warning (SIGKILL, OOM, a
    /// host recycle) loses the predictions of up to that interval plus one append (about a second) that were already
    /// answered. On, nothing answered is lost, at the price of one storage append per request on the request path
    /// (appends are serialized: throughput falls to what storage accepts, milliseconds each).
    /// </summary>
    public bool PredictionLogFlushBeforeAnswer { get; set; }

    /// <summary>Batch size that triggers an append (append blocks are limited to 4 MiB).</summary>
    public int PredictionLogMaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>Name of this host in log blob names and in automatic rollback history entries.</summary>
    public string HostId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}".ToLowerInvariant();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public ServingOptions Validate()
    {
        if (MaxBatchRows is < 1 or > 100_000)
            throw new ArgumentException("ServingOptions.MaxBatchRows must be 1..100000.");
        if (MaxBodyBytes is < 1024 or > 256L * 1024 * 1024)
            throw new ArgumentException("ServingOptions.MaxBodyBytes must be 1 KiB..256 MiB.");
        if (PollInterval < TimeSpan.FromMilliseconds(50) || PollInterval > TimeSpan.FromMinutes(5))
            throw new ArgumentException("ServingOptions.PollInterval must be 50 ms..5 min.");
        if (UnknownModelCacheTime < TimeSpan.Zero)
            throw new ArgumentException("ServingOptions.UnknownModelCacheTime must not be negative.");
        if (UnknownModelCacheSize is < 0 or > 1_000_000)
            throw new ArgumentException("ServingOptions.UnknownModelCacheSize must be 0..1000000.");
        if (string.IsNullOrWhiteSpace(RequestKeyHeader) || string.IsNullOrWhiteSpace(RequestKeyField))
            throw new ArgumentException("ServingOptions.RequestKeyHeader and RequestKeyField are required.");
        if (MaxReportedErrors < 1)
            throw new ArgumentException("ServingOptions.MaxReportedErrors must be ≥ 1.");
        if (PredictionLogSampleRate is < 0 or > 1 || double.IsNaN(PredictionLogSampleRate))
            throw new ArgumentException("ServingOptions.PredictionLogSampleRate must be 0..1.");
        if (PredictionLogCapacity < 1)
            throw new ArgumentException("ServingOptions.PredictionLogCapacity must be ≥ 1.");
        if (PredictionLogMaxBufferedBytes < 64 * 1024)
            throw new ArgumentException("ServingOptions.PredictionLogMaxBufferedBytes must be ≥ 64 KiB.");
        if (PredictionLogFlushInterval <= TimeSpan.Zero)
            throw new ArgumentException("ServingOptions.PredictionLogFlushInterval must be positive.");
        if (PredictionLogMaxBatchBytes is < 1024 or > 4 * 1024 * 1024)
            throw new ArgumentException(
                "ServingOptions.PredictionLogMaxBatchBytes must be 1 KiB..4 MiB (the append block limit)."
            );
        if (string.IsNullOrWhiteSpace(PredictionLogContainer))
            throw new ArgumentException("ServingOptions.PredictionLogContainer is required.");
        if (string.IsNullOrWhiteSpace(HostId) || HostId.IndexOfAny(['/', '\\', '#', '?']) >= 0)
            throw new ArgumentException("ServingOptions.HostId must be non-empty without / \\ # ?.");
        return this;
    }
}
