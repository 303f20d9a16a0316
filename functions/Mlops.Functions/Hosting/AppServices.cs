using Azure.Core.Serialization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;
using Mlops.Functions.Handlers;
using Mlops.Monitoring;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Monitoring;
using Mlops.Registry;
using Mlops.Serving;
using Mlops.Storage.Azure;

namespace Mlops.Functions.Hosting;

/// <summary>The worker's services: storage, the libraries' services, and the handlers the function classes
/// call.</summary>
public static class AppServices
{
    /// <summary>
    /// Registers everything the functions need over the storage account named by <c>AzureWebJobsStorage</c> (a
    /// connection string, or <c>AzureWebJobsStorage__*</c> for a managed identity), and makes the app's JSON options
    /// the worker's serializer — which the Durable extension also uses for orchestration inputs, outputs and custom
    /// status.
    /// </summary>
    public static IServiceCollection AddMlops(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = AppSettings.FromConfiguration(configuration);
        var storage = AzureStorageAccount.FromConfiguration(configuration).Services;
        return services.AddMlops(settings, storage);
    }

    /// <summary>The same over given settings and storage (tests pass an in-memory or Azurite account).</summary>
    public static IServiceCollection AddMlops(
        this IServiceCollection services,
        AppSettings settings,
        StorageServices storage
    )
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(storage);
        // The Durable extension builds its DataConverter from this serializer (DurableTaskExtensionStartup reads
        // WorkerOptions.Serializer for both the worker and the client): camelCase custom status, as the dashboard
        // reads it, and NaN metrics (AUC of a one-class split) as named literals instead of a serialization failure.
        services.Configure<WorkerOptions>(o => o.Serializer = new JsonObjectSerializer(Json.Options));

        services.AddSingleton(settings);
        services.AddSingleton(storage);
        services.AddSingleton(storage.Blobs);
        services.AddSingleton(storage.Tables);
        services.AddSingleton(WebhookOptions.FromEnvironment()); // alert delivery: https only unless MLOPS_ALLOW_HTTP_WEBHOOKS=true
        // Host-wide alert sink: the log, plus MLOPS_ALERT_WEBHOOK when set. Every alert reaches it through the durable
        // SendAlert activity (pipeline alerts also reach the dataset's own alertWebhook); rollbacks send to it
        // directly.
        services.AddSingleton<IAlertSink>(sp =>
            AlertSinks.Create(
                Environment.GetEnvironmentVariable("MLOPS_ALERT_WEBHOOK"),
                sp.GetRequiredService<ILoggerFactory>(),
                sp.GetRequiredService<WebhookOptions>()
            )
        );
        services.AddSingleton(_ => PipelineServices.Create(storage));
        services.AddSingleton(sp => sp.GetRequiredService<PipelineServices>().Registry);
        services.AddSingleton(sp => sp.GetRequiredService<PipelineServices>().Datasets);

        // Monitoring: runs read only the prediction log's window; one core is left to predictions in this process.
        services.AddMonitoringServices("predictions", maxParallelism: Math.Max(1, Environment.ProcessorCount - 1));
        services.AddSingleton<IMonitoringSource>(sp => new RegistryMonitoringSource(
            storage.Blobs,
            sp.GetRequiredService<ModelRegistry>()
        ));
        services.AddSingleton<Mlops.Monitoring.Reference.IBaselineData>(sp => new RegistryBaselineData(
            sp.GetRequiredService<Mlops.Data.Versions.DatasetStore>(),
            sp.GetRequiredService<ModelRegistry>()
        ));

        services.AddServing(storage);
        services.AddSingleton<IServingEvents, RollbackAlerts>(); // canary auto-rollbacks alert a person
        services.AddSingleton(new Tracking.RunQueries(storage)); // the runs API: index table + run blobs

        // The handlers the HTTP functions call (plain classes: a method per operation, no HTTP types but a body
        // stream).
        services.AddSingleton<ModelHandler>();
        services.AddSingleton<ExplanationHandler>();
        services.AddSingleton<ServingHandler>();
        services.AddSingleton<DatasetHandler>();
        services.AddSingleton<PipelineHandler>();
        services.AddSingleton<RunHandler>();
        services.AddSingleton<MonitoringHandler>();
        services.AddSingleton<OrchestrationHandler>();
        services.AddSingleton<BatchHandler>();
        return services;
    }
}
