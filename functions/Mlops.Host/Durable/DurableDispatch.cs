using Microsoft.Extensions.DependencyInjection.Extensions;
using Mlops.Host.Worker;

namespace Mlops.Host.Durable;

/// <summary>The Durable extension's part of the host: DTFx dispatch to the worker and the DurableClient
/// endpoint.</summary>
public static class DurableDispatch
{
    /// <summary>
    /// Registers the task hub (from host.json's <c>extensions.durableTask</c>; <c>MLOPS_TASK_HUB</c> overrides the hub
    /// name), the dispatcher that runs orchestrators and activities in the worker, the loopback gRPC endpoint of the
    /// worker's DurableTaskClient and the <c>durableClient</c> binding. DTFx and the sidecar log warnings only.
    /// </summary>
    public static IServiceCollection AddDurableDispatch(this IServiceCollection services, HostContext context)
    {
        var options = DurableHubOptions.FromHostJson(
            context.HostJson,
            Environment.GetEnvironmentVariable(DurableHubOptions.HubOverrideVariable)
        );
        services.AddLogging(logging =>
        {
            logging.AddFilter("DurableTask", LogLevel.Warning);
            logging.AddFilter("Microsoft.DurableTask", LogLevel.Warning);
        });
        services.TryAddSingleton(options);
        services.TryAddSingleton(sp => new DurableTaskHub(
            sp.GetRequiredService<DurableHubOptions>(),
            context.StorageConnectionString,
            context.HostId,
            sp.GetRequiredService<ILoggerFactory>()
        ));
        services.TryAddSingleton<WorkerDispatchMiddleware>();
        services.TryAddSingleton<DurableClientEndpoint>();
        services.TryAddSingleton<DurableDispatcherService>();
        services.AddSingleton<IInputBindingProvider, DurableClientBinding>();
        // The client endpoint first: a DurableClient binding may be asked for as soon as the worker is up.
        services.AddHostedService(sp => sp.GetRequiredService<DurableClientEndpoint>());
        services.AddHostedService(sp => sp.GetRequiredService<DurableDispatcherService>());
        return services;
    }
}
