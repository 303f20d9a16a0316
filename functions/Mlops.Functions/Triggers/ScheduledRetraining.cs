using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Core.Scheduling;
using Mlops.Core.Storage;
using Mlops.Functions.Hosting;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;

namespace Mlops.Functions.Functions;

/// <summary>
/// Timer trigger on <c>%RETRAIN_SCHEDULE%</c> (6-field NCRONTAB): retrains every configured dataset. It is switched off
/// as the Functions host switches any function off, <c>AzureWebJobs.ScheduledRetraining.Disabled=true</c> (the default
/// locally; the schedule must still be a valid expression). The instance id is derived from the schedule's occurrence,
/// so a tick delivered twice — or by two instances — starts one run per dataset. (A dataset's own <c>schedule</c> in
/// its mlops.json is <see cref="DatasetSchedules"/>' job.)
/// </summary>
public sealed class ScheduledRetraining(StorageServices storage, AppSettings settings, ILogger<ScheduledRetraining> log)
{
    /// <summary>The function's name (the host's disable switch is <c>AzureWebJobs.{Name}.Disabled</c>).</summary>
    public const string Name = nameof(ScheduledRetraining);

    /// <summary>The timer.</summary>
    [Function(Name)]
    public Task Run(
        [TimerTrigger("%" + AppSettings.RetrainScheduleSetting + "%")] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        var now = DateTimeOffset.UtcNow;
        var tick = settings.RetrainSchedule is { } cron
            ? CronSchedule.Parse(cron).LatestIn(now.AddDays(-1), now) ?? now
            : now;
        return RunAsync(tick, timer.IsPastDue, new DurablePipelineLauncher(client), cancellationToken);
    }

    /// <summary>Starts the run of every configured dataset for the tick <paramref name="scheduledFor"/>; returns their
    /// ids.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(
        DateTimeOffset scheduledFor,
        bool isPastDue,
        IPipelineLauncher launcher,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(launcher);
        var started = new List<string>();
        foreach (string dataset in await ConfiguredDatasetsAsync(storage.Blobs, cancellationToken))
        {
            string id = PipelineInstanceIds.ForSchedule(dataset, scheduledFor);
            await launcher.StartTrainingAsync(dataset, PipelineTrigger.Schedule(scheduledFor), id, cancellationToken);
            started.Add(id);
        }
        log.LogInformation(
            "Scheduled retraining ({Tick:u}{PastDue}) started {Count} run(s): {Ids}",
            scheduledFor,
            isPastDue ? ", past due" : "",
            started.Count,
            string.Join(", ", started)
        );
        return started;
    }

    /// <summary>Datasets that have an mlops.json in the drop zone.</summary>
    public static async Task<IReadOnlyList<string>> ConfiguredDatasetsAsync(
        IBlobStore blobs,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var list = new List<string>();
        await foreach (var b in blobs.ListAsync(PipelineConfigLoader.IncomingContainer, "", cancellationToken))
            if (PipelineConfigLoader.IsConfigBlob(b.Name, out string dataset))
                list.Add(dataset);
        return list;
    }
}
