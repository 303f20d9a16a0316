using Microsoft.DurableTask;
using Mlops.Pipelines.Training;
using Mlops.Tracking;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Writes a sweep's summary as <c>runs/{sweepId}/sweep.json</c> through <see cref="RunRecorder"/>, where the
/// dashboard's sweep page and the run index read it. Overwriting is idempotent: the orchestrator passes the same
/// summary on every replay.
/// </summary>
public sealed class RecordSweep(PipelineServices services) : TaskActivity<SweepSummary, bool>
{
    /// <inheritdoc />
    public override async Task<bool> RunAsync(TaskActivityContext context, SweepSummary input)
    {
        await new RunRecorder(services.Storage.Blobs).WriteSweepAsync(input);
        return true;
    }
}
