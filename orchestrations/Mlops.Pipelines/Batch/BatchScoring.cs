using Microsoft.DurableTask;
using Mlops.Serving.Batch;

namespace Mlops.Pipelines.Batch;

/// <summary>
/// A batch scoring job: plan the input once (the model version is resolved here, once, for every chunk), fan the
/// chunks out to <see cref="ScoreChunk"/> activities with at most <see cref="MaxParallelChunks"/> in flight, then
/// <see cref="FinishBatch"/> writes the errors file, the manifest and the combined file. The custom status carries the
/// rows scored, the percent and an ETA. A crash anywhere resumes from the history: finished chunks are not run again,
/// and a chunk that was running is run again and overwrites its own part, so every row is written exactly once.
/// </summary>
public sealed class BatchScoring : TaskOrchestrator<BatchJobRequest, BatchResult>
{
    /// <summary>The orchestration's name.</summary>
    public const string Name = nameof(BatchScoring);

    /// <summary>
    /// Chunks in flight at once: enough to keep every worker of a scaled-out app busy, bounded so the task hub is not
    /// flooded (the activities themselves are further limited per worker by maxConcurrentActivityFunctions).
    /// </summary>
    public const int MaxParallelChunks = 16;

    // A chunk that fails on a storage hiccup or a killed worker is tried again; the same input fails the same way
    // every time only for a real problem, which then fails the job with that message.
    private static TaskOptions Retry => RetryPolicies.Storage;

    /// <inheritdoc />
    public override async Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchJobRequest job)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(job);
        DateTime started = context.CurrentUtcDateTime;
        string jobId = context.InstanceId;
        context.SetCustomStatus(
            new BatchProgress("planning", job.Version, 0, null, 0, 0, null, started, job.Output, null, null)
        );

        BatchPlan? plan = null;
        string? failure = null;
        try
        {
            plan = await context.CallActivityAsync<BatchPlan>(nameof(PlanBatch), job, Retry);
        }
        catch (TaskFailedException e)
        {
            failure = "Planning failed: " + (e.FailureDetails?.ErrorMessage ?? e.Message);
        }
        failure ??= plan!.Failure;

        var results = new List<ChunkResult>();
        long rows = 0,
            errors = 0;
        if (failure is null)
        {
            long limit = ErrorLimit(job.ErrorThreshold, plan!.RowsTotal);
            var chunks = plan.Chunks;
            var running = new List<Task<ChunkResult>>();
            int next = 0;
            DateTime scoringStarted = context.CurrentUtcDateTime;
            context.SetCustomStatus(Progress("scoring", plan, 0, 0, null, started, job, null));
            while (next < chunks.Count || running.Count > 0)
            {
                // After a failure nothing new starts; what runs is awaited so the manifest lists every part written.
                while (failure is null && running.Count < MaxParallelChunks && next < chunks.Count)
                {
                    var request = new ScoreChunkRequest(
                        job,
                        jobId,
                        plan.Version,
                        plan.HeaderLine,
                        chunks[next++],
                        started
                    );
                    running.Add(context.CallActivityAsync<ChunkResult>(nameof(ScoreChunk), request, Retry));
                }
                if (running.Count == 0)
                    break;
                var done = await Task.WhenAny(running);
                running.Remove(done);
                try
                {
                    var result = await done;
                    results.Add(result);
                    rows += result.Rows;
                    errors += result.Errors;
                }
                catch (TaskFailedException e)
                {
                    failure ??= "A chunk could not be scored: " + (e.FailureDetails?.ErrorMessage ?? e.Message);
                }
                if (failure is null && limit >= 0 && errors > limit)
                    failure =
                        $"{errors} row(s) could not be scored, over the error threshold ({Describe(job.ErrorThreshold, limit)}); "
                        + $"see {BatchPaths.PredictionsContainer}/{BatchPaths.Errors(job.Output)}.";
                double elapsed = (context.CurrentUtcDateTime - scoringStarted).TotalSeconds;
                long done2 = rows + errors;
                double? eta =
                    done2 > 0 && elapsed > 0
                        ? Math.Round(Math.Max(0, plan.RowsTotal - done2) * elapsed / done2, 1)
                        : null;
                context.SetCustomStatus(Progress("scoring", plan, rows, errors, eta, started, job, null));
            }
        }

        var finish = new FinishBatchRequest(
            job,
            jobId,
            plan?.Version,
            plan?.RowsTotal ?? 0,
            results,
            started,
            context.CurrentUtcDateTime,
            failure
        );
        var output = await context.CallActivityAsync<BatchResult>(nameof(FinishBatch), finish, Retry);
        context.SetCustomStatus(
            new BatchProgress(
                failure is null ? "done" : "failed",
                plan?.Version,
                rows,
                plan?.RowsTotal,
                errors,
                failure is null ? 100 : Percent(rows + errors, plan?.RowsTotal ?? 0),
                0,
                started,
                job.Output,
                output.Manifest,
                failure
            )
        );
        if (failure is not null)
            throw new BatchJobFailedException(failure);
        return output;
    }

    private static BatchProgress Progress(
        string phase,
        BatchPlan plan,
        long rows,
        long errors,
        double? eta,
        DateTime started,
        BatchJobRequest job,
        string? manifest
    ) =>
        new(
            phase,
            plan.Version,
            rows,
            plan.RowsTotal,
            errors,
            Percent(rows + errors, plan.RowsTotal),
            eta,
            started,
            job.Output,
            manifest,
            null
        );

    private static double Percent(long done, long total) =>
        total <= 0 ? 0 : Math.Round(Math.Min(100, 100.0 * done / total), 1);

    /// <summary>
    /// The most bad rows a job tolerates: -1 (any number), 0 (none), a count (≥ 1), or a share of the rows (0 &lt; x
    /// &lt; 1). Returns -1 for "no limit".
    /// </summary>
    public static long ErrorLimit(double threshold, long rowsTotal)
    {
        if (threshold < 0)
            return -1;
        if (threshold >= 1)
            return (long)Math.Floor(threshold);
        return threshold == 0 ? 0 : (long)Math.Floor(threshold * rowsTotal);
    }

    private static string Describe(double threshold, long limit) =>
        threshold >= 1 || threshold == 0 ? $"at most {limit}" : $"at most {threshold:P2} of the rows = {limit}";
}

/// <summary>The job failed (a header that does not fit, too many bad rows, a chunk that kept failing); the message says
/// why.</summary>
public sealed class BatchJobFailedException(string message) : Exception(message);

/// <summary>Plans a job (<see cref="BatchScoringService.PlanAsync"/>).</summary>
public sealed class PlanBatch(Activities.PipelineServices services) : TaskActivity<BatchJobRequest, BatchPlan>
{
    /// <inheritdoc />
    public override Task<BatchPlan> RunAsync(TaskActivityContext context, BatchJobRequest input) =>
        new BatchScoringService(services.Storage.Blobs, services.Registry).PlanAsync(input);
}

/// <summary>Scores one chunk (<see cref="BatchScoringService.ScoreChunkAsync"/>).</summary>
public sealed class ScoreChunk(Activities.PipelineServices services) : TaskActivity<ScoreChunkRequest, ChunkResult>
{
    /// <inheritdoc />
    public override Task<ChunkResult> RunAsync(TaskActivityContext context, ScoreChunkRequest input) =>
        new BatchScoringService(services.Storage.Blobs, services.Registry).ScoreChunkAsync(input);
}

/// <summary>Writes the errors file, the manifest and the combined file (<see
/// cref="BatchScoringService.FinishAsync"/>).</summary>
public sealed class FinishBatch(Activities.PipelineServices services) : TaskActivity<FinishBatchRequest, BatchResult>
{
    /// <inheritdoc />
    public override Task<BatchResult> RunAsync(TaskActivityContext context, FinishBatchRequest input) =>
        new BatchScoringService(services.Storage.Blobs, services.Registry).FinishAsync(input);
}
