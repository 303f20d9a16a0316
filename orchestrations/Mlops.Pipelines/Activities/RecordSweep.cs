using Mlops.Core;
using Microsoft.DurableTask;
using Mlops.Pipelines.Training;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Writes a sweep's summary to <c>runs/{sweepId}/sweep.json</c> (camelCase), where the dashboard's sweep page reads it.
/// Overwriting is idempotent: the orchestrator passes the same summary on every replay.
/// </summary>
public sealed class RecordSweep(PipelineServices services) : TaskActivity<SweepSummary, bool>
{
    public const string FileName = "sweep.json";

    public override async Task<bool> RunAsync(TaskActivityContext context, SweepSummary input)
    {
        await services.Storage.Blobs.WriteAsync(PipelineServices.RunsContainer, $"{input.SweepId}/{FileName}", Json.SerializeToUtf8(input, indented: true));
        return true;
    }
}
