using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Monitoring;
using Mlops.Functions.Triggers;
using Mlops.Pipelines.Monitoring;
using Mlops.Registry;

namespace Mlops.Functions.Functions;

/// <summary>
/// Timer trigger, every minute: starts the monitor run of each served model whose <c>monitoring.schedule</c> (default
/// hourly) fell due since the previous tick. Instance ids are derived from the due occurrence, so a tick handled twice
/// starts one run.
/// </summary>
public sealed class MonitorSchedule(ModelRegistry registry, IMonitoringSource source, ILogger<MonitorSchedule> log)
{
    public const string TimerName = "monitor-all";
    public const string Schedule = "0 * * * * *";

    [Function(nameof(MonitorSchedule))]
    public Task Run([TimerTrigger(Schedule)] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken) =>
        RunAsync(new TimerTick(TimerName, DateTimeOffset.UtcNow, timer.IsPastDue), new MonitorScheduler(source, new DurableMonitorLauncher(client)), cancellationToken);

    public async Task RunAsync(TimerTick tick, MonitorScheduler scheduler, CancellationToken cancellationToken = default)
    {
        var models = (await registry.ListModelsAsync(cancellationToken)).Where(m => m.Production is not null).Select(m => m.Model).ToList();
        var started = await scheduler.TickAsync(models, tick.ScheduledFor.AddMinutes(-1), tick.ScheduledFor, cancellationToken);
        if (started.Count > 0) log.LogInformation("Monitoring: started {Runs}", string.Join(", ", started.Select(s => $"{s.Model}:{s.RunId}")));
    }
}
