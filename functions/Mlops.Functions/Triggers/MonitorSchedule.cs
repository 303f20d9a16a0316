using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Monitoring;
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
    /// <summary>Every minute: each model's own schedule decides whether a run is due.</summary>
    public const string Schedule = "0 * * * * *";

    [Function(nameof(MonitorSchedule))]
    public Task Run(
        [TimerTrigger(Schedule)] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    ) =>
        RunAsync(
            DateTimeOffset.UtcNow,
            new MonitorScheduler(source, new DurableMonitorLauncher(client)),
            cancellationToken
        );

    /// <summary>Starts the runs that fell due in the minute before <paramref name="now"/>.</summary>
    public async Task RunAsync(
        DateTimeOffset now,
        MonitorScheduler scheduler,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        var models = (await registry.ListModelsAsync(cancellationToken))
            .Where(m => m.Production is not null)
            .Select(m => m.Model)
            .ToList();
        var started = await scheduler.TickAsync(models, now.AddMinutes(-1), now, cancellationToken);
        if (started.Count > 0)
            log.LogInformation(
                "Monitoring: started {Runs}",
                string.Join(", ", started.Select(s => $"{s.Model}:{s.RunId}"))
            );
    }
}
