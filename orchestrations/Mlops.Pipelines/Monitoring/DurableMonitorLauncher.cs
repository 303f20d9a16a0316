using Microsoft.DurableTask.Client;
using Mlops.Monitoring;
using Mlops.Pipelines.Launching;

namespace Mlops.Pipelines.Monitoring;

/// <summary>
/// Starts <see cref="MonitorModel"/> through the durable client: on demand (HTTP) and per schedule tick (timer), with
/// ids of <see cref="InstanceIds"/> and the one idempotent start, <see cref="OrchestrationStarts"/>.
/// </summary>
public sealed class DurableMonitorLauncher(DurableTaskClient client) : IMonitorLauncher, IScheduledMonitorLauncher
{
    /// <summary>Instance id of the run for a schedule tick: the same tick always maps to the same run, so a timer that
    /// fires twice starts one.</summary>
    public static string ForTick(string model, DateTimeOffset tick) =>
        InstanceIds.ForTick(InstanceIds.Monitor, model, tick);

    /// <inheritdoc />
    public Task<string> StartMonitorAsync(string model, CancellationToken cancellationToken) =>
        StartAsync(
            new MonitorRequest(model, "manual"),
            InstanceIds.ForManual(InstanceIds.Monitor, model, DateTimeOffset.UtcNow),
            cancellationToken
        );

    /// <summary>Starts the run of a timer tick (window ending at the tick); idempotent per tick.</summary>
    public Task<string> StartScheduledAsync(
        string model,
        DateTimeOffset tick,
        CancellationToken cancellationToken = default
    ) => StartAsync(new MonitorRequest(model, "timer", WindowEnd: tick), ForTick(model, tick), cancellationToken);

    private Task<string> StartAsync(MonitorRequest request, string instanceId, CancellationToken cancellationToken) =>
        OrchestrationStarts.StartOnceAsync(client, nameof(MonitorModel), request, instanceId, cancellationToken);
}
