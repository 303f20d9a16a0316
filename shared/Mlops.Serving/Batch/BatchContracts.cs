using System.Security.Cryptography;
using System.Text;
using Mlops.Core.Errors;

namespace Mlops.Serving.Batch;

/// <summary>
/// One batch scoring job as the orchestration receives it: everything resolved and validated at the start (the input
/// blob's version, the output prefix, the settings), so the orchestration itself only plans, fans out and finishes.
/// </summary>
/// <param name="Model">Registered model name.</param>
/// <param name="Input">Blob name in the <see cref="BatchPaths.ScoringContainer"/> container.</param>
/// <param name="InputETag">The input version the job scores (one job per version).</param>
/// <param name="Version">Explicit model version, or null for <paramref name="Alias"/>.</param>
/// <param name="Alias">Alias resolved once at planning (default <c>production</c>).</param>
/// <param name="Output">Prefix in the <see cref="BatchPaths.PredictionsContainer"/> container (parts, errors,
/// manifest).</param>
/// <param name="Columns">Input columns copied next to each prediction (e.g. an id).</param>
/// <param name="ErrorThreshold">Bad rows tolerated: a count (≥ 1), a share of the rows (0 &lt; x &lt; 1), 0 = none, -1
/// = any.</param>
/// <param name="ChunkRows">Rows per chunk (one activity each).</param>
/// <param name="Combine">Also write one file with every part.</param>
/// <param name="Log">Also write the predictions to the prediction log (monitoring and feedback see them).</param>
/// <param name="Trigger">What started the job: <c>drop</c>, <c>api</c>.</param>
/// <param name="Explain">Also write each row's explanation (base value and per-column contributions, the layout of
/// <c>mlops predict --explain</c>).</param>
public sealed record BatchJobRequest(
    string Model,
    string Input,
    string InputETag,
    int? Version,
    string? Alias,
    string Output,
    IReadOnlyList<string> Columns,
    double ErrorThreshold,
    int ChunkRows,
    bool Combine,
    bool Log,
    string Trigger,
    bool Explain = false
);

/// <summary>One run of whole records of the input: its bytes and the input row numbers it holds.</summary>
/// <param name="Index">Chunk number (0-based); names its part.</param>
/// <param name="Offset">First byte in the input.</param>
/// <param name="Length">Bytes.</param>
/// <param name="FirstRow">Input row number (1 = the first record after the header) of its first record.</param>
/// <param name="Rows">Records it holds (blank lines included; they are skipped when scoring).</param>
public sealed record BatchChunk(int Index, long Offset, long Length, long FirstRow, long Rows);

/// <summary>What planning found: the version to use, the header and the chunks; or why the job cannot run.</summary>
/// <param name="Version">The model version every chunk uses.</param>
/// <param name="HeaderLine">The input's header record as written (without a byte-order mark), prepended to every
/// chunk.</param>
/// <param name="Chunks">Chunks in input order.</param>
/// <param name="RowsTotal">Records in the input (blank lines included).</param>
/// <param name="InputBytes">Input length.</param>
/// <param name="Failure">Why the job fails before any chunk runs (a header that does not fit the model), or
/// null.</param>
public sealed record BatchPlan(
    int Version,
    string HeaderLine,
    IReadOnlyList<BatchChunk> Chunks,
    long RowsTotal,
    long InputBytes,
    string? Failure
);

/// <summary>Input of the chunk activity.</summary>
public sealed record ScoreChunkRequest(
    BatchJobRequest Job,
    string JobId,
    int Version,
    string HeaderLine,
    BatchChunk Chunk,
    DateTime StartedUtc
);

/// <summary>What one chunk produced.</summary>
/// <param name="Index">Chunk number.</param>
/// <param name="Rows">Rows scored.</param>
/// <param name="Errors">Rows that could not be scored (in the errors file).</param>
/// <param name="Part">Blob name of the part.</param>
/// <param name="Seconds">Time the activity took.</param>
public sealed record ChunkResult(int Index, long Rows, long Errors, string Part, double Seconds);

/// <summary>Input of the activity that writes the errors file, the manifest and the combined file.</summary>
public sealed record FinishBatchRequest(
    BatchJobRequest Job,
    string JobId,
    int? Version,
    long RowsTotal,
    IReadOnlyList<ChunkResult> Results,
    DateTime StartedUtc,
    DateTime FinishedUtc,
    string? Failure
);

/// <summary>The orchestration's output.</summary>
public sealed record BatchResult(
    string JobId,
    string Model,
    int Version,
    long Rows,
    long Errors,
    string Output,
    string Manifest,
    IReadOnlyList<string> Parts,
    string ErrorsBlob,
    string? Combined
);

/// <summary>The orchestration's custom status: what the job list shows while it runs.</summary>
public sealed record BatchProgress(
    string Phase,
    int? Version,
    long RowsScored,
    long? RowsTotal,
    long Errors,
    double Percent,
    double? EtaSeconds,
    DateTime StartedUtc,
    string Output,
    string? Manifest,
    string? Failure
);

/// <summary>Names of a job: its id and its blobs.</summary>
public static class BatchPaths
{
    /// <summary>Where inputs are dropped: <c>scoring/{model}/{name}.csv</c>, optional settings in
    /// <c>{name}.json</c>.</summary>
    public const string ScoringContainer = "scoring";

    /// <summary>Where outputs go (the prediction log's container; job prefixes never look like its hour
    /// folders).</summary>
    public const string PredictionsContainer = "predictions";

    /// <summary>Every job id starts with this, then the model name.</summary>
    public const string IdPrefix = "batch-";

    /// <summary>
    /// The job id of one input version: a redelivered event or a repeated request for the same blob version finds the
    /// same job. The model is in the id so a model's jobs list by prefix; the hash keeps ids short and path-safe.
    /// </summary>
    public static string JobId(string model, string input, string etag) =>
        $"{IdPrefix}{model}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(model + "|" + input + "|" + etag.Trim('"'))))[..16]}";

    /// <summary>The default output prefix of a job.</summary>
    public static string DefaultOutput(string model, string jobId) => $"{model}/{jobId}";

    /// <summary>A part's blob name: deterministic, so a retried or re-run chunk overwrites its own part.</summary>
    public static string Part(string output, int index) => $"{output}/part-{index:D5}.csv";

    /// <summary>Where a chunk's bad rows go before the finish merges them into <see cref="Errors"/>.</summary>
    public static string ErrorPiece(string output, int index) => $"{output}/_errors/part-{index:D5}.csv";

    /// <summary>Every bad row of the job.</summary>
    public static string Errors(string output) => $"{output}/errors.csv";

    /// <summary>The job's manifest.</summary>
    public static string Manifest(string output) => $"{output}/_manifest.json";

    /// <summary>All parts in one file (when asked).</summary>
    public static string Combined(string output) => $"{output}/predictions.csv";

    /// <summary>The prediction log blob of one chunk (when asked): in the log's hour folder of the job's
    /// start.</summary>
    public static string LogBlob(string model, DateTime startedUtc, string jobId, int index) =>
        $"{model}/{startedUtc:yyyy/MM/dd/HH}/{jobId}-{index:D5}.jsonl";

    /// <summary>
    /// Checks a blob name given as a job's input: a plain name inside the scoring container (an optional
    /// <c>scoring/</c> in front is dropped). Anything that could reach another container or a URL is a 400.
    /// </summary>
    public static string CheckInput(string? input)
    {
        if (string.IsNullOrWhiteSpace(input))
            throw new MlopsException(
                "batch.invalid_input",
                "\"input\" is required: the name of a CSV blob in the scoring container (e.g. \"m/data.csv\")."
            );
        string name = input.StartsWith(ScoringContainer + "/", StringComparison.Ordinal)
            ? input[(ScoringContainer.Length + 1)..]
            : input;
        if (!IsSafePath(name))
            throw new MlopsException(
                "batch.invalid_input",
                $"\"input\" must name a blob inside the '{ScoringContainer}' container (no URL, no leading '/', '\\', '.' or '..' segments); "
                    + $"got {Quote(input)}."
            );
        return name;
    }

    /// <summary>Checks an output prefix: relative, plain segments (it is joined under the predictions
    /// container).</summary>
    public static string CheckOutput(string? output, string model, string jobId)
    {
        if (string.IsNullOrWhiteSpace(output))
            return DefaultOutput(model, jobId);
        string trimmed = output.TrimEnd('/');
        if (!IsSafePath(trimmed))
            throw new MlopsException(
                "batch.invalid_output",
                $"\"output\" must be a relative prefix in the '{PredictionsContainer}' container (no URL, no '\\', '.' or '..' segments); got {Quote(output)}."
            );
        // Hour folders of the prediction log (model/yyyy/...) are the monitor's: a job must not write among them.
        var segments = trimmed.Split('/');
        if (segments.Length > 1 && segments[1].Length == 4 && segments[1].All(char.IsAsciiDigit))
            throw new MlopsException(
                "batch.invalid_output",
                $"\"output\" {Quote(output)} would write among the prediction log's hour folders; choose another prefix."
            );
        return trimmed;
    }

    private static bool IsSafePath(string name) =>
        name.Length is > 0 and <= 900
        && !name.Contains("://", StringComparison.Ordinal)
        && !name.StartsWith('/')
        && !name.Contains('\\')
        && !name.Any(char.IsControl)
        && name.Split('/').All(s => s.Length > 0 && Uri.UnescapeDataString(s) is not ("." or ".."));

    private static string Quote(string s) =>
        System.Text.Json.JsonSerializer.Serialize(s.Length > 80 ? s[..80] + "…" : s);
}

/// <summary>
/// A job's settings as a caller gives them: the body of <c>POST /api/models/{model}/batch</c>, or the
/// <c>scoring/{model}/{name}.json</c> dropped beside an input (where <see cref="Input"/> is not used).
/// </summary>
/// <param name="Input">Blob name in the scoring container (POST only).</param>
/// <param name="Version">Model version; or <paramref name="Alias"/>.</param>
/// <param name="Alias">Alias to resolve when the job is planned (default <c>production</c>).</param>
/// <param name="Output">Output prefix in the predictions container (default <c>{model}/{jobId}</c>).</param>
/// <param name="Columns">Input columns copied next to each prediction.</param>
/// <param name="ErrorThreshold">-1 (default: any), 0 (none), a count (≥ 1) or a share (0 &lt; x &lt; 1) of bad rows
/// tolerated.</param>
/// <param name="ChunkRows">Rows per chunk (default 100,000).</param>
/// <param name="Combine">Also write all parts as one file.</param>
/// <param name="Log">Also write the predictions to the prediction log.</param>
/// <param name="Explain">Also write each row's explanation as columns (<c>base</c>, <c>contribution_{column}</c>).</param>
public sealed record BatchSettings(
    string? Input = null,
    int? Version = null,
    string? Alias = null,
    string? Output = null,
    List<string>? Columns = null,
    double? ErrorThreshold = null,
    int? ChunkRows = null,
    bool? Combine = null,
    bool? Log = null,
    bool? Explain = null
)
{
    /// <summary>Default rows per chunk: about 30 MB of a 28-column numeric file, a second or so of scoring.</summary>
    public const int DefaultChunkRows = 100_000;

    /// <summary>Largest chunk accepted (a chunk is held in memory by one activity).</summary>
    public const int MaxChunkRows = 2_000_000;

    /// <summary>Validates the settings and makes the job of one input version; every mistake is a 400 that names
    /// it.</summary>
    public BatchJobRequest ToJob(string model, string input, string etag, string trigger)
    {
        if (Version is not null && Alias is not null)
            throw new MlopsException("batch.invalid_settings", "Give \"version\" or \"alias\", not both.");
        if (Version is < 1)
            throw new MlopsException("batch.invalid_settings", $"\"version\" must be 1 or more; got {Version}.");
        if (Alias is not null)
            Mlops.Registry.RegistryNames.CheckAlias(Alias);
        double threshold = ErrorThreshold ?? -1;
        if (!(threshold is -1 or 0 || threshold >= 1 && threshold == Math.Floor(threshold) || threshold is > 0 and < 1))
            throw new MlopsException(
                "batch.invalid_settings",
                $"\"errorThreshold\" must be -1 (no limit), 0 (no bad row), a whole count ≥ 1 or a share between 0 and 1; got {threshold}."
            );
        int chunkRows = ChunkRows ?? DefaultChunkRows;
        if (chunkRows is < 1 or > MaxChunkRows)
            throw new MlopsException(
                "batch.invalid_settings",
                $"\"chunkRows\" must be between 1 and {MaxChunkRows}; got {chunkRows}."
            );
        var columns = Columns ?? [];
        if (
            columns.Count > 100
            || columns.Any(string.IsNullOrWhiteSpace)
            || columns.Distinct(StringComparer.Ordinal).Count() != columns.Count
        )
            throw new MlopsException(
                "batch.invalid_settings",
                "\"columns\" must be at most 100 distinct, non-empty column names."
            );
        string jobId = BatchPaths.JobId(model, input, etag);
        return new BatchJobRequest(
            model,
            input,
            etag.Trim('"'),
            Version,
            Alias,
            BatchPaths.CheckOutput(Output, model, jobId),
            columns,
            threshold,
            chunkRows,
            Combine ?? false,
            Log ?? false,
            trigger,
            Explain ?? false
        );
    }
}
