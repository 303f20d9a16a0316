using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Functions.Triggers;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;

namespace Mlops.Functions.Functions;

/// <summary>
/// Timer trigger: retrains on a schedule. <c>RETRAIN_SCHEDULE</c> retrains every configured dataset; a dataset's own
/// <c>schedule</c> in mlops.json retrains just that one. The instance id is derived from the tick, so one run per tick.
/// </summary>
public sealed class ScheduledRetraining(StorageServices storage, ILogger<ScheduledRetraining> log)
{
    public const string Name = nameof(ScheduledRetraining);
    public const string AllDatasetsTimer = "retrain-all";
    public static string DatasetTimer(string dataset) => "retrain-" + dataset;

    /// <summary>Under the Functions host: <c>RETRAIN_SCHEDULE</c> (6-field NCRONTAB) retrains every configured dataset.
    /// The tick is the schedule's latest occurrence, so a tick delivered twice maps to one instance id.</summary>
    [Function(Name)]
    public Task Run([TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var tick = Environment.GetEnvironmentVariable(ScheduleSetting) is { } cron
            ? Pipelines.Monitoring.MonitorScheduler.LatestOccurrence(cron, now.AddDays(-1), now) ?? now : now;
        return RunAsync(new TimerTick(AllDatasetsTimer, tick, timer.IsPastDue), new DurablePipelineLauncher(client), cancellationToken);
    }

    public const string ScheduleSetting = "RETRAIN_SCHEDULE";

    public async Task<IReadOnlyList<string>> RunAsync(TimerTick tick, IPipelineLauncher launcher, CancellationToken cancellationToken = default)
    {
        var datasets = tick.TimerName == AllDatasetsTimer
            ? await ConfiguredDatasetsAsync(storage.Blobs, cancellationToken)
            : [tick.TimerName["retrain-".Length..]];
        var started = new List<string>();
        foreach (string dataset in datasets)
        {
            string id = PipelineInstanceIds.ForSchedule(dataset, tick.ScheduledFor);
            await launcher.StartTrainingAsync(dataset, PipelineTrigger.Schedule(tick.ScheduledFor), id, cancellationToken);
            started.Add(id);
        }
        log.LogInformation("Scheduled retraining ({Timer}{PastDue}) started {Count} run(s): {Ids}", tick.TimerName, tick.IsPastDue ? ", past due" : "", started.Count, string.Join(", ", started));
        return started;
    }

    /// <summary>Datasets that have an mlops.json in the drop zone.</summary>
    public static async Task<IReadOnlyList<string>> ConfiguredDatasetsAsync(IBlobStore blobs, CancellationToken cancellationToken = default)
    {
        var list = new List<string>();
        await foreach (var b in blobs.ListAsync(PipelineConfigLoader.IncomingContainer, "", cancellationToken))
            if (PipelineConfigLoader.IsConfigBlob(b.Name, out string dataset)) list.Add(dataset);
        return list;
    }
}
