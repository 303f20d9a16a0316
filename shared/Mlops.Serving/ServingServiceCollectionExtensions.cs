using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Mlops.Core.Storage;
using Mlops.Registry;

namespace Mlops.Serving;

/// <summary>Registers the registry and serving services.</summary>
public static class ServingServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ModelRegistry"/>, the serving runtime, the prediction logger and the serving heartbeat
    /// (hosted services). Needs <see cref="IBlobStore"/> and <see cref="ITableStore"/> (or <see
    /// cref="StorageServices"/>) in the container. The model loader defaults to the Mlops.ML adapter; register another
    /// <see cref="IModelLoader"/> before calling this to replace it. Options are validated here, at startup.
    /// </summary>
    /// <remarks>A <see cref="ModelRegistry"/> (or <see cref="RegistryOptions"/>) registered before this call is kept:
    /// the host shares one registry between serving and the pipeline.</remarks>
    public static IServiceCollection AddServing(
        this IServiceCollection services,
        Action<ServingOptions>? configure = null
    )
    {
        var options = new ServingOptions();
        configure?.Invoke(options);
        options.Validate();

        services.AddSingleton(options);
        services.TryAddSingleton(new RegistryOptions());
        services.TryAddSingleton(sp => new ModelRegistry(
            Blobs(sp),
            Tables(sp),
            sp.GetRequiredService<RegistryOptions>()
        ));
        services.TryAddSingleton<IModelLoader, MlModelLoader>();
        services.TryAddSingleton<ServingRuntime>();
        services.TryAddSingleton(sp => new PredictionLogAndShadowRunner(
            Blobs(sp),
            sp.GetRequiredService<ServingOptions>(),
            sp.GetRequiredService<ServingRuntime>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<PredictionLogAndShadowRunner>>()
        ));
        services.TryAddSingleton<PredictHandler>();
        services.TryAddSingleton<ServingBackgroundService>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<PredictionLogAndShadowRunner>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ServingBackgroundService>());
        return services;
    }

    /// <summary>
    /// <see cref="AddServing(IServiceCollection, Action{ServingOptions}?)"/> over the given
    /// storage account (registers its blob and table ports if the container has none).
    /// </summary>
    public static IServiceCollection AddServing(
        this IServiceCollection services,
        StorageServices storage,
        Action<ServingOptions>? configure = null
    )
    {
        ArgumentNullException.ThrowIfNull(storage);
        services.TryAddSingleton(storage);
        services.TryAddSingleton(storage.Blobs);
        services.TryAddSingleton(storage.Tables);
        return services.AddServing(configure);
    }

    private static IBlobStore Blobs(IServiceProvider sp) =>
        sp.GetService<IBlobStore>() ?? sp.GetRequiredService<StorageServices>().Blobs;

    private static ITableStore Tables(IServiceProvider sp) =>
        sp.GetService<ITableStore>() ?? sp.GetRequiredService<StorageServices>().Tables;
}
