using DurableTask.AzureStorage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mlops.Durable.Local;

/// <summary>Wires the local durable runtime: one task hub, the DTFx-backed worker and a client on the same
/// hub.</summary>
public static class LocalDurableServiceCollectionExtensions
{
    /// <summary>
    /// Adds the worker (a hosted service) running the tasks that <paramref name="registerTasks"/> adds, and a
    /// singleton <see cref="DurableTaskClient"/>. Inputs and outputs are JSON with <paramref name="converter"/>.
    /// </summary>
    public static IServiceCollection AddLocalDurableTask(
        this IServiceCollection services,
        StorageAccountClientProvider storage,
        LocalDurableOptions options,
        Action<DurableTaskRegistry> registerTasks,
        DataConverter? converter = null
    )
    {
        converter ??= JsonDataConverter.Default;
        services.AddSingleton(sp => new LocalTaskHub(storage, options, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<DurableTaskClient>(sp => new LocalDurableClient(
            sp.GetRequiredService<LocalTaskHub>(),
            converter
        ));
        services.AddDurableTaskWorker(builder =>
        {
            builder.AddTasks(registerTasks);
            builder.Configure(o => o.DataConverter = converter);
            builder.UseBuildTarget<LocalDurableWorker>();
        });
        return services;
    }
}
