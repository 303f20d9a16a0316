using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;
using Mlops.Data.Http;
using Mlops.Functions.Durable;
using Mlops.Functions.Functions;
using Mlops.Functions.Triggers;
using Mlops.Monitoring;
using Mlops.Monitoring.Http;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Launching;
using Mlops.Pipelines.Monitoring;
using Mlops.Registry;
using Mlops.Registry.Http;
using Mlops.Serving;

namespace Mlops.Functions.Hosting;

/// <summary>
/// The services every function needs, the same under the Azure Functions host and the local runner. What depends on
/// the durable client is built per call from the client the host hands the function (<see cref="DurableServices"/>).
/// </summary>
public static class AppServices
{
    public static IServiceCollection AddMlops(this IServiceCollection services, HostSettings settings, StorageServices storage)
    {
        services.AddSingleton(settings);
        services.AddSingleton(storage);
        services.AddSingleton(storage.Blobs);
        services.AddSingleton(storage.Tables);
        services.AddSingleton(WebhookOptions.FromEnvironment()); // alert delivery: https only unless MLOPS_ALLOW_HTTP_WEBHOOKS=true
        // Host-wide alert sink (monitoring): the log, plus MLOPS_ALERT_WEBHOOK when set. Pipeline alerts go to each
        // dataset's own alertWebhook through the durable SendAlert activity.
        services.AddSingleton<IAlertSink>(sp => AlertSinks.Create(Environment.GetEnvironmentVariable("MLOPS_ALERT_WEBHOOK"), sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<WebhookOptions>()));
        services.AddSingleton(sp => PipelineServices.Create(storage, sp.GetRequiredService<IAlertSink>()));
        services.AddSingleton(sp => sp.GetRequiredService<PipelineServices>().Registry);
        services.AddSingleton(sp => sp.GetRequiredService<PipelineServices>().Datasets);

        // Monitoring: runs read only the prediction log's window; one core is left to predictions in this process.
        services.AddMonitoringServices("predictions", maxParallelism: Math.Max(1, Environment.ProcessorCount - 1));
        services.AddSingleton<IMonitoringSource>(sp => new RegistryMonitoringSource(storage.Blobs, sp.GetRequiredService<ModelRegistry>()));
        services.AddSingleton<Mlops.Monitoring.Reference.IBaselineData>(sp => new RegistryBaselineData(sp.GetRequiredService<Mlops.Data.Versions.DatasetStore>(), sp.GetRequiredService<ModelRegistry>()));

        services.AddServing(storage);
        services.AddSingleton<IServingEvents, RollbackAlerts>(); // canary auto-rollbacks alert a person
        services.AddSingleton<TimerRegistry>();
        services.AddSingleton(new Tracking.RunQueries(storage)); // the runs API: index table + run blobs
        return services;
    }

    /// <summary>Every HTTP route of the app, in one place: the local runner serves them, the Azure HTTP functions call them.</summary>
    public static void MapRoutes(IEndpointRouteBuilder app)
    {
        HttpFunctions.Map(app);
        OrchestrationManagement.Map(app);
        app.MapServing();
        app.MapRegistry(includeApproval: false);
        app.MapDatasets();
        app.MapMonitoring();
        RunEndpoints.Map(app);
        ActivityTimeline.Map(app);
        DashboardFiles.Map(app); // last: the catch-all serves the dashboard's files
    }
}

/// <summary>
/// The services that start or manage orchestrations, over one <see cref="DurableTaskClient"/>. Locally the client is
/// the process's own; under the Functions host it is the <c>[DurableClient]</c> binding of the invocation.
/// </summary>
public sealed class DurableServices(DurableTaskClient client, IServiceProvider services)
{
    public DurableTaskClient Client { get; } = client;
    public IPipelineLauncher Pipelines { get; } = new DurablePipelineLauncher(client);
    public DurableMonitorLauncher Monitors { get; } = new(client);

    public IRetrainLauncher Retraining => new MonitorRetrainLauncher(Pipelines);
    public MonitorScheduler Scheduler => new(services.GetRequiredService<IMonitoringSource>(), Monitors);
    public MonitoringApi MonitoringApi => ActivatorUtilities.CreateInstance<MonitoringApi>(services, (IMonitorLauncher)Monitors);

    /// <summary>A service provider that answers these types from this client, and everything else from <paramref name="inner"/>.</summary>
    public IServiceProvider Over(IServiceProvider inner) => new Provider(this, inner);

    private sealed class Provider(DurableServices d, IServiceProvider inner) : IServiceProvider
    {
        public object? GetService(Type t) =>
            t == typeof(DurableTaskClient) ? d.Client
            : t == typeof(IPipelineLauncher) ? d.Pipelines
            : t == typeof(IRetrainLauncher) ? d.Retraining
            : t == typeof(IMonitorLauncher) || t == typeof(DurableMonitorLauncher) ? d.Monitors
            : t == typeof(MonitorScheduler) ? d.Scheduler
            : t == typeof(MonitoringApi) ? d.MonitoringApi
            : inner.GetService(t);
    }
}
