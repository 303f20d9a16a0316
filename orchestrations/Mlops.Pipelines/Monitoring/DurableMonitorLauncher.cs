using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Mlops.Monitoring;

namespace Mlops.Pipelines.Monitoring;

/// <summary>Starts <see cref="MonitorModel"/> through the durable client: on demand (HTTP) and per schedule tick (timer).</summary>
public sealed class DurableMonitorLauncher(DurableTaskClient client) : IMonitorLauncher, IScheduledMonitorLauncher
{
    /// <summary>Instance id of the run for a schedule tick: the same tick always maps to the same run, so a timer that fires twice starts one.</summary>
    public static string ForTick(string model, DateTimeOffset tick) => $"monitor-{model}-{tick.UtcDateTime:yyyyMMddTHHmmss}";

    /// <inheritdoc />
    public Task<string> StartMonitorAsync(string model, CancellationToken cancellationToken) =>
        StartAsync(new MonitorRequest(model, "manual"), $"monitor-{model}-{DateTime.UtcNow:yyyyMMddTHHmmss}-{Guid.NewGuid():N}"[..(model.Length + 32)], cancellationToken);

    /// <summary>Starts the run of a timer tick (window ending at the tick); idempotent per tick.</summary>
    public Task<string> StartScheduledAsync(string model, DateTimeOffset tick, CancellationToken cancellationToken = default) =>
        StartAsync(new MonitorRequest(model, "timer", WindowEnd: tick), ForTick(model, tick), cancellationToken);

    private async Task<string> StartAsync(MonitorRequest request, string instanceId, CancellationToken cancellationToken)
    {
        if (await client.GetInstanceAsync(instanceId, cancellation: cancellationToken).ConfigureAwait(false) is not null) return instanceId;
        return await client.ScheduleNewOrchestrationInstanceAsync(nameof(MonitorModel), request,
            new StartOrchestrationOptions(InstanceId: instanceId), cancellationToken).ConfigureAwait(false);
    }
}
