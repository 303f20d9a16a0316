using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Core.Scheduling;
using Mlops.Core.Storage;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;

namespace Mlops.Functions.Functions;

/// <summary>
/// Timer trigger, every minute, under the Functions host: each dataset's own <c>schedule</c> in its mlops.json. A
/// dataset whose schedule fell due since the previous minute starts a run whose id is derived from that occurrence, so
/// a tick handled twice (or by two instances) starts one run.
/// </summary>
public sealed class DatasetSchedules(StorageServices storage, ILogger<DatasetSchedules> log)
{
    [Function(nameof(DatasetSchedules))]
    public Task Run(
        [TimerTrigger("0 * * * * *")] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) => RunAsync(DateTimeOffset.UtcNow, new DurablePipelineLauncher(client), cancellationToken);

    /// <summary>Starts the runs of the datasets whose schedule has an occurrence in (now − 1 min, now].</summary>
    public async Task<IReadOnlyList<string>> RunAsync(
        DateTimeOffset now,
        IPipelineLauncher launcher,
        CancellationToken cancellationToken = default
    )
    {
        var started = new List<string>();
        foreach (string dataset in await ScheduledRetraining.ConfiguredDatasetsAsync(storage.Blobs, cancellationToken))
        {
            PipelineConfig config;
            try
            {
                config = await PipelineConfigLoader.LoadAsync(storage.Blobs, dataset, cancellationToken);
            }
            catch (PipelineConfigException e)
            {
                log.LogWarning("{Dataset}: {Error}", dataset, e.Message);
                continue;
            }
            if (
                config.Schedule is not { } cron
                || CronSchedule.Parse(cron).LatestIn(now.AddMinutes(-1), now) is not { } due
            )
                continue;
            string id = PipelineInstanceIds.ForSchedule(dataset, due);
            await launcher.StartTrainingAsync(dataset, PipelineTrigger.Schedule(due), id, cancellationToken);
            started.Add(id);
        }
        if (started.Count > 0)
            log.LogInformation("Dataset schedules started {Runs}", string.Join(", ", started));
        return started;
    }
}
