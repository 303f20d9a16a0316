using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Monitoring;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Reports;
using Mlops.Monitoring.Window;

namespace Mlops.Pipelines.Monitoring;

/// <summary>Registration of the monitoring orchestration, its activities and the services they use.</summary>
public static class MonitoringRegistration
{
    /// <summary>
    /// Registers <see cref="MonitorModel"/> and its activities (task name = class name). Its alerts go through
    /// <see cref="Activities.SendAlert"/>: register it too (<see cref="PipelineRegistration.AddAlertDelivery"/>).
    /// </summary>
    public static DurableTaskRegistry AddMonitoring(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.AddOrchestrator<MonitorModel>();
        registry.AddActivity<PrepareMonitorRun>();
        registry.AddActivity<ComputeMonitorReport>();
        registry.AddActivity<EvaluateRetrainPolicy>();
        registry.AddActivity<StartRetraining>();
        return registry;
    }

    /// <summary>
    /// The services the activities need, over the host's <see cref="IBlobStore"/>, <see cref="ITableStore"/> and
    /// <see cref="IClock"/> (a <see cref="SystemClock"/> is added when none is registered). The host registers
    /// <see cref="IMonitoringSource"/>, <see cref="IRetrainLauncher"/> and <see cref="Data.Alerts.IAlertSink"/> itself,
    /// and
    /// <see cref="IBaselineData"/> (e.g. <see cref="RegistryBaselineData"/>) for pinned-dataset baselines.
    /// </summary>
    /// <param name="services">Service collection.</param>
    /// <param name="predictionLogContainer">Container of the prediction log
    /// (ServingOptions.PredictionLogContainer).</param>
    /// <param name="maxParallelism">Threads a monitor run parses and sorts on (default: every core; a process that
    /// also serves predictions passes <c>Environment.ProcessorCount - 1</c> to keep a core for them).</param>
    public static IServiceCollection AddMonitoringServices(
        this IServiceCollection services,
        string predictionLogContainer = "predictions",
        int? maxParallelism = null
    )
    {
        services.TryAddSingleton<IClock>(SystemClock.Instance);
        services.TryAddSingleton(sp => new PredictionLogReader(
            sp.GetRequiredService<IBlobStore>(),
            predictionLogContainer,
            maxParallelism
        ));
        services.TryAddSingleton(sp => new IssuedPredictions(
            sp.GetRequiredService<IBlobStore>(),
            predictionLogContainer
        ));
        services.TryAddSingleton(sp => new FeedbackStore(
            sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<ITableStore>(),
            sp.GetRequiredService<IClock>()
        ));
        services.TryAddSingleton(sp => new MonitoringStore(
            sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<ITableStore>()
        ));
        // Pinned-dataset baselines need the host's IBaselineData (dataset store + registry); without it they fail with
        // a clear error.
        services.TryAddSingleton(sp => new DatasetBaselines(
            sp.GetRequiredService<MonitoringStore>(),
            sp.GetService<IBaselineData>()
        ));
        services.TryAddSingleton<MonitorRunner>();
        return services;
    }
}
