using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Durable.AzureStorage;

namespace Mlops.Durable;

/// <summary>
/// Executes the orchestrators and activities of a <see cref="DurableRegistry"/> against a task hub. Any number of
/// workers (processes) may share a hub: control-queue partitions are leased so each instance is advanced by one
/// worker at a time, activities are shared freely, and a dead worker's share moves to the others once its leases
/// expire. Usable directly (<see cref="StartAsync"/>/<see cref="StopAsync"/>) or as an <see cref="IHostedService"/>.
/// </summary>
public sealed class DurableWorker : IHostedService, IAsyncDisposable
{
    private readonly DurableWorkerOptions options;
    private readonly DurableRegistry registry;
    private readonly IServiceProvider? services;
    private readonly ILoggerFactory loggerFactory;
    private readonly ILogger logger;
    private readonly TaskHubStorage storage;
    private CancellationTokenSource? cts;
    private OrchestrationDispatcher? orchestrations;
    private ActivityDispatcher? activities;
    private PartitionManager? partitions;
    private Task[] loops = [];

    /// <summary>Creates a worker; <paramref name="options"/> are validated here.</summary>
    /// <param name="options">Hub and tuning settings.</param>
    /// <param name="registry">Orchestrators and activities this worker can run.</param>
    /// <param name="services">Used to construct class-based orchestrators and activities (constructor injection).</param>
    /// <param name="loggerFactory">Engine and replay-safe orchestrator logs.</param>
    public DurableWorker(DurableWorkerOptions options, DurableRegistry registry, IServiceProvider? services = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        options.Validate();
        this.options = options;
        this.registry = registry;
        this.services = services;
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        logger = this.loggerFactory.CreateLogger("Mlops.Durable.Worker");
        storage = new TaskHubStorage(options);
        WorkerId = options.WorkerId ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    }

    /// <summary>Id of this worker in leases and logs.</summary>
    public string WorkerId { get; }

    /// <summary>Storage calls made by this worker so far.</summary>
    public long StorageTransactions => storage.Transactions;

    /// <summary>Control-queue partitions this worker currently owns.</summary>
    public IReadOnlyCollection<int> OwnedPartitions => partitions?.Owned ?? [];

    /// <summary>A client on the same hub that shares this worker's storage objects and in-process wake-ups.</summary>
    public DurableClient CreateClient() => new(storage);

    /// <summary>Creates the hub's storage if needed and starts leasing partitions and polling for work.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (cts is not null) throw new InvalidOperationException("The worker is already started.");
        // Storage may be briefly unavailable at host start (e.g. emulator still booting): retry initialization.
        for (int attempt = 1; ; attempt++)
        {
            try { await storage.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false); break; }
            catch (Exception e) when (attempt < 10 && e is not OperationCanceledException)
            {
                logger.StorageUnavailable("initialize", TimeSpan.FromSeconds(1), e);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
        cts = new CancellationTokenSource();
        var stop = cts.Token;
        orchestrations = new OrchestrationDispatcher(storage, options, registry, services, loggerFactory, stop);
        activities = new ActivityDispatcher(storage, options, registry, services, loggerFactory.CreateLogger("Mlops.Durable.Activities"), stop);
        partitions = new PartitionManager(storage, options, WorkerId, logger, orchestrations.StartPump, orchestrations.StopPump);
        orchestrations.Partitions = partitions;
        orchestrations.Activities = activities;
        activities.Orchestrations = orchestrations;
        activities.Partitions = partitions;
        loops = [Task.Run(() => partitions.RunAsync(stop), CancellationToken.None), Task.Run(() => activities.PumpAsync(stop), CancellationToken.None)];
        logger.WorkerStarted(WorkerId, storage.Hub, storage.PartitionCount);
    }

    /// <summary>
    /// Stops polling, lets running activities finish until <paramref name="cancellationToken"/> fires, and releases
    /// the partition leases so other workers take over at once.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (cts is null) return;
        await cts.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException) { }
        if (activities is not null)
        {
            // Activities saw the stop token; give them a bounded grace period (their work items reappear anyway).
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            grace.CancelAfter(TimeSpan.FromSeconds(30));
            await activities.DrainAsync(grace.Token).ConfigureAwait(false);
        }
        if (partitions is not null) await partitions.ReleaseAllAsync(CancellationToken.None).ConfigureAwait(false);
        cts.Dispose();
        cts = null;
        logger.WorkerStopped(WorkerId);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}

/// <summary>Hosting helpers.</summary>
public static class DurableServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DurableWorkerOptions"/>, a <see cref="DurableRegistry"/>, a <see cref="DurableClient"/> and
    /// the <see cref="DurableWorker"/> as a hosted service. Class-based activities are built from the host's services.
    /// </summary>
    public static IServiceCollection AddMlopsDurable(this IServiceCollection services, Action<DurableWorkerOptions> configure, Action<DurableRegistry> register)
    {
        var options = new DurableWorkerOptions();
        configure(options);
        options.Validate();
        var registry = new DurableRegistry();
        register(registry);
        services.AddSingleton(options);
        services.AddSingleton(registry);
        services.AddSingleton(sp => new DurableWorker(options, registry, sp, sp.GetService<ILoggerFactory>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<DurableWorker>());
        services.AddSingleton(sp => sp.GetRequiredService<DurableWorker>().CreateClient());
        return services;
    }
}
