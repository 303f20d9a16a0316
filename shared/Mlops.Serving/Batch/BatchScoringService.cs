using System.Collections.Concurrent;
using System.Diagnostics;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.ML.Models;
using Mlops.Registry;

namespace Mlops.Serving.Batch;

/// <summary>
/// The work of a batch job's activities over storage and the registry: plan, score a chunk, finish. Each step reads
/// only what it needs (planning streams the input once; a chunk reads its byte range), writes deterministic blobs and
/// can run again with the same result, which is what makes a job resumable after a crash anywhere.
/// </summary>
public sealed class BatchScoringService(IBlobStore blobs, ModelRegistry registry)
{
    // Chunks of one job run one after another on the same worker: the model is loaded once per process and version.
    private static readonly ConcurrentDictionary<(string Model, int Version), Lazy<Task<Model>>> Models = new();
    private const int MaxCachedModels = 8;

    /// <summary>
    /// Resolves the model version once for the whole job (an alias is read now: a promotion during the job does not
    /// mix versions), checks the input is still the version the job was started for, and plans the chunks. A header
    /// that does not fit the model gives a plan with <see cref="BatchPlan.Failure"/>, before any chunk runs.
    /// </summary>
    public async Task<BatchPlan> PlanAsync(BatchJobRequest job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        int version = await ResolveVersionAsync(registry, job.Model, job.Version, job.Alias, cancellationToken)
            .ConfigureAwait(false);
        var model = await LoadAsync(job.Model, version, cancellationToken).ConfigureAwait(false);
        await using var input = await OpenInputAsync(job, cancellationToken).ConfigureAwait(false);
        BatchLayout layout;
        try
        {
            layout = await BatchPlanner.PlanAsync(input, job.ChunkRows, cancellationToken).ConfigureAwait(false);
        }
        catch (CsvFormatException e)
        {
            return new BatchPlan(version, "", [], 0, 0, $"{BatchPaths.ScoringContainer}/{job.Input}: {e.Message}");
        }
        string? failure = BatchPlanner.CheckHeader(model, layout.Header, job.Columns);
        if (failure is null && job.Explain && !Mlops.ML.Explain.ModelExplainer.CanExplain(model))
            failure =
                $"\"explain\" was asked, but model '{job.Model}' version {version} cannot be explained "
                + "(a tree model saved without node covers); score without \"explain\" or retrain it.";
        if (failure is null && layout.Records == 0)
            failure = $"{BatchPaths.ScoringContainer}/{job.Input} has a header and no rows to score.";
        return new BatchPlan(
            version,
            layout.HeaderLine,
            failure is null ? layout.Chunks : [],
            layout.Records,
            layout.Bytes,
            failure
        );
    }

    /// <summary>
    /// Scores one chunk: reads its byte range (never the rest of the input), predicts, and writes its part (and its
    /// bad rows, and its log lines when asked) under deterministic names, replacing what an earlier attempt wrote.
    /// </summary>
    public async Task<ChunkResult> ScoreChunkAsync(
        ScoreChunkRequest request,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(request);
        long started = Stopwatch.GetTimestamp();
        var job = request.Job;
        var chunk = request.Chunk;
        var model = await LoadAsync(job.Model, request.Version, cancellationToken).ConfigureAwait(false);
        var header = ChunkScorer.HeaderBytes(request.HeaderLine);
        var bytes = await ReadRangeAsync(job, chunk.Offset, chunk.Length, header, cancellationToken)
            .ConfigureAwait(false);
        var log = job.Log ? new ChunkLogContext(job.Model, request.JobId, request.Version, request.StartedUtc) : null;
        var outcome = ChunkScorer.Score(
            model,
            request.HeaderLine,
            bytes,
            header.Length,
            chunk.FirstRow,
            job.Columns,
            log,
            job.Explain
        );
        string container = BatchPaths.PredictionsContainer;
        string part = BatchPaths.Part(job.Output, chunk.Index);
        await blobs
            .WriteAsync(container, part, outcome.Part, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        string piece = BatchPaths.ErrorPiece(job.Output, chunk.Index);
        if (outcome.Errors is { } errors)
            await blobs
                .WriteAsync(container, piece, errors, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        else
            await blobs.DeleteAsync(container, piece, cancellationToken).ConfigureAwait(false); // an earlier attempt's, if any
        if (outcome.Log is { } lines)
            await blobs
                .WriteAsync(
                    container,
                    BatchPaths.LogBlob(job.Model, request.StartedUtc, request.JobId, chunk.Index),
                    lines,
                    cancellationToken: cancellationToken
                )
                .ConfigureAwait(false);
        return new ChunkResult(
            chunk.Index,
            outcome.Rows,
            outcome.ErrorRows,
            part,
            Stopwatch.GetElapsedTime(started).TotalSeconds
        );
    }

    /// <summary>Writes the errors file, the manifest and the combined file.</summary>
    public Task<BatchResult> FinishAsync(FinishBatchRequest request, CancellationToken cancellationToken = default) =>
        BatchOutput.FinishAsync(blobs, request, cancellationToken);

    /// <summary>The version a job uses: the one asked for, else the alias's (default production); 404 when there is
    /// none.</summary>
    public static async Task<int> ResolveVersionAsync(
        ModelRegistry registry,
        string model,
        int? version,
        string? alias,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (version is int v)
            return (await registry.GetVersionAsync(model, v, cancellationToken).ConfigureAwait(false)).Version;
        string name = alias ?? ModelRegistry.ProductionAlias;
        var state = await registry.GetStateAsync(model, cancellationToken).ConfigureAwait(false);
        return state.Aliases.TryGetValue(name, out int aliased)
            ? aliased
            : throw new NotFoundException(
                "batch.no_version",
                $"Model '{model}' has no '{name}' alias: give \"version\", or an alias that is set ({string.Join(", ", state.Aliases.Keys)})."
            );
    }

    private async Task<Model> LoadAsync(string model, int version, CancellationToken cancellationToken)
    {
        if (Models.Count > MaxCachedModels)
            Models.Clear();
        var lazy = Models.GetOrAdd((model, version), key => new Lazy<Task<Model>>(async () =>
        {
            var file = await registry
                .ReadModelFileAsync(key.Model, key.Version, CancellationToken.None)
                .ConfigureAwait(false);
            using var stream = new MemoryStream(file, writable: false);
            return Model.Load(stream);
        }));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch when (lazy.Value.IsFaulted)
        {
            Models.TryRemove(new KeyValuePair<(string, int), Lazy<Task<Model>>>((model, version), lazy)); // a later attempt tries again
            throw;
        }
    }

    /// <summary>Opens the input, failing when it is gone or is no longer the version the job was started for.</summary>
    private async Task<Stream> OpenInputAsync(BatchJobRequest job, CancellationToken cancellationToken)
    {
        var info = await blobs
            .GetInfoAsync(BatchPaths.ScoringContainer, job.Input, cancellationToken)
            .ConfigureAwait(false)
            ?? throw new NotFoundException(
                "batch.input_gone",
                $"{BatchPaths.ScoringContainer}/{job.Input} no longer exists."
            );
        if (info.ETag.Trim('"') != job.InputETag.Trim('"'))
            throw new MlopsException(
                "batch.input_changed",
                $"{BatchPaths.ScoringContainer}/{job.Input} was replaced after job start; the new version is scored by a job of its own.",
                409
            );
        return await blobs
            .OpenReadAsync(BatchPaths.ScoringContainer, job.Input, cancellationToken)
            .ConfigureAwait(false)
            ?? throw new NotFoundException(
                "batch.input_gone",
                $"{BatchPaths.ScoringContainer}/{job.Input} no longer exists."
            );
    }

    /// <summary>
    /// Reads [offset, offset + length) of the input after <paramref name="prefix"/> (the header) in one buffer: one
    /// chunk is the most an activity holds.
    /// </summary>
    private async Task<byte[]> ReadRangeAsync(
        BatchJobRequest job,
        long offset,
        long length,
        byte[] prefix,
        CancellationToken cancellationToken
    )
    {
        if (length > int.MaxValue - 1024)
            throw new MlopsException(
                "batch.chunk_too_large",
                $"A chunk of {length} bytes is too large; use a smaller \"chunkRows\"."
            );
        await using var input = await OpenInputAsync(job, cancellationToken).ConfigureAwait(false);
        if (input.CanSeek)
            input.Position = offset;
        else
        {
            var skip = new byte[1 << 16];
            for (long left = offset; left > 0; )
            {
                int read = await input
                    .ReadAsync(skip.AsMemory(0, (int)Math.Min(skip.Length, left)), cancellationToken)
                    .ConfigureAwait(false);
                if (read == 0)
                    break;
                left -= read;
            }
        }
        var bytes = new byte[prefix.Length + length];
        prefix.CopyTo(bytes, 0);
        int filled = prefix.Length;
        while (filled < bytes.Length)
        {
            int read = await input.ReadAsync(bytes.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
                throw new MlopsException(
                    "batch.input_changed",
                    $"{BatchPaths.ScoringContainer}/{job.Input} is shorter than when the job was planned.",
                    409
                );
            filled += read;
        }
        return bytes;
    }
}
