using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Data.Http;
using Mlops.Serving;
using Mlops.Registry.Http;
using Mlops.Data.Alerts;
using DurableTask.AzureStorage;
using Microsoft.DurableTask.Converters;
using Mlops.Core;
using Mlops.Durable.Local;
using Mlops.Functions.Durable;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Functions;
using Mlops.Functions.Security;
using Mlops.Functions.Triggers;
using Mlops.Pipelines;
using Mlops.Pipelines.Monitoring;
using Mlops.Monitoring;
using Mlops.Monitoring.Http;
using Mlops.Registry;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;
using Mlops.Pipelines.Scheduling;
using Mlops.Storage.Azure;

namespace Mlops.Functions.Hosting;

/// <summary>
/// The local runner — this repository's stand-in for the Azure Functions host, which cannot be installed here: it
/// invokes the same function classes from local trigger listeners (blob scan with receipts, timers under a lease),
/// serves the same HTTP routes with the same key levels on Kestrel, and runs the same orchestrators on DTFx's Azure
/// Storage backend in process. Used by Program (the run command) and by the tests (on their own Azurite). In Azure the
/// Functions host does these jobs (<see cref="AzureFunctionsApp"/>).
/// </summary>
public static class FunctionApp
{
    /// <summary>Builds the app. <paramref name="configure"/> lets tests shorten intervals or swap services.</summary>
    public static async Task<WebApplication> BuildAsync(HostSettings settings, string[]? args = null, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        // DTFx logs every lease and queue event at Information, and normal message reordering as warnings.
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);
        builder.Logging.AddFilter("DurableTask.AzureStorage", LogLevel.Error);
        int port = settings.HttpPort;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });

        var account = AzureStorageAccount.FromConnectionString(settings.StorageConnectionString);
        var storage = account.Services;
        var keys = await FunctionKeys.LoadOrCreateAsync(storage.Blobs, settings.HostId, settings.FunctionKey, settings.MasterKey, cancellationToken);
        var services = builder.Services;
        services.AddMlops(settings, storage);
        services.AddSingleton(keys);

        // Orchestrations: DTFx's Azure Storage backend in process (the engine of Durable Functions, same task hub
        // layout), running the durabletask-dotnet classes; the client writes to the same hub. One account for both:
        // the durable engine gets the same endpoints (and credential, when identity-based).
        var hubStorage = account.Credential is null
            ? TaskHubStorage.FromConnectionString(account.ConnectionString!)
            : new StorageAccountClientProvider(account.BlobServiceUri, account.QueueServiceUri, account.TableServiceUri, account.Credential);
        services.AddLocalDurableTask(hubStorage, settings.Durable, registry => registry.AddPipelines().AddMonitoring(), new JsonDataConverter(Json.Options));
        services.AddSingleton(sp => new DurableServices(sp.GetRequiredService<DurableTaskClient>(), sp));
        services.AddSingleton(sp => sp.GetRequiredService<DurableServices>().Pipelines);
        services.AddSingleton(sp => sp.GetRequiredService<DurableServices>().Retraining);
        services.AddSingleton<IMonitorLauncher>(sp => sp.GetRequiredService<DurableServices>().Monitors);
        services.AddSingleton(sp => sp.GetRequiredService<DurableServices>().MonitoringApi);

        // The stand-in for the Functions host's triggers: the same function classes, invoked by local listeners.
        services.AddSingleton<DataDropped>();
        services.AddSingleton<ScheduledRetraining>();
        services.AddSingleton<MonitorSchedule>();
        services.AddSingleton<FeedbackDropped>();
        services.AddHostedService(sp =>
        {
            var durable = sp.GetRequiredService<DurableServices>();
            return new BlobTriggerListener(
                storage,
                new BlobTriggerBinding(DataDropped.Name, DataDropped.Container, DataDropped.Matches, (e, ct) => sp.GetRequiredService<DataDropped>().RunAsync(e, durable.Pipelines, ct)),
                settings.HostId, TimeSpan.FromSeconds(settings.BlobScanSeconds), settings.MaxBlobAttempts,
                sp.GetRequiredService<ILogger<BlobTriggerListener>>(),
                observeBlob: DatasetScheduleWatcher.Create(storage.Blobs, sp.GetRequiredService<TimerRegistry>(), sp.GetRequiredService<ILogger<TimerRegistry>>()));
        });
        services.AddHostedService(sp => new BlobTriggerListener(
            storage,
            new BlobTriggerBinding(FeedbackDropped.Name, FeedbackDropped.Container, FeedbackDropped.Matches, (e, ct) => sp.GetRequiredService<FeedbackDropped>().RunAsync(e, sp.GetRequiredService<DurableServices>().MonitoringApi, ct)),
            settings.HostId, TimeSpan.FromSeconds(settings.BlobScanSeconds), settings.MaxBlobAttempts,
            sp.GetRequiredService<ILogger<BlobTriggerListener>>()));
        services.AddHostedService(sp =>
        {
            var timers = sp.GetRequiredService<TimerRegistry>();
            if (settings.RetrainSchedule is { } s) timers.Set(ScheduledRetraining.AllDatasetsTimer, CronSchedule.Parse(s));
            timers.Set(MonitorSchedule.TimerName, CronSchedule.Parse(MonitorSchedule.Schedule));
            var durable = sp.GetRequiredService<DurableServices>();
            var retraining = sp.GetRequiredService<ScheduledRetraining>();
            var monitoring = sp.GetRequiredService<MonitorSchedule>();
            return new TimerTriggerListener(storage, timers, settings.HostId,
                (tick, ct) => tick.TimerName == MonitorSchedule.TimerName ? monitoring.RunAsync(tick, durable.Scheduler, ct) : retraining.RunAsync(tick, durable.Pipelines, ct),
                sp.GetRequiredService<ILogger<TimerTriggerListener>>());
        });

        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer<KeyLevelsOpenApi>();
            o.AddOperationTransformer<KeyLevelsOpenApi>();
        });
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseMiddleware<FunctionKeyMiddleware>(); // the host's key check: the same levels the functions declare
        app.MapOpenApi(); // /openapi/v1.json: outside /api, so it needs no key (it lists routes, not data)
        AppServices.MapRoutes(app);
        return app;
    }
}

/// <summary>Keeps each dataset's own retraining timer in step with the <c>schedule</c> in its mlops.json, as the drop zone is scanned.</summary>
public static class DatasetScheduleWatcher
{
    public static Action<BlobInfo> Create(IBlobStore blobs, TimerRegistry timers, ILogger log)
    {
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        return blob =>
        {
            if (!PipelineConfigLoader.IsConfigBlob(blob.Name, out string dataset)) return;
            if (seen.TryGetValue(blob.Name, out var etag) && etag == blob.ETag) return;
            seen[blob.Name] = blob.ETag;
            _ = Task.Run(async () =>
            {
                try
                {
                    var config = await PipelineConfigLoader.LoadAsync(blobs, dataset);
                    timers.Set(ScheduledRetraining.DatasetTimer(dataset), config.Schedule is { } s ? CronSchedule.Parse(s) : null);
                    if (config.Schedule is not null) log.LogInformation("Dataset {Dataset} retrains on schedule '{Schedule}'", dataset, config.Schedule);
                }
                catch (Exception e) { log.LogWarning("{Blob}: {Error}", blob.Name, e.Message); }
            });
        };
    }
}
