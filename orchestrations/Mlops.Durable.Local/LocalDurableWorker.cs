using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Hosting;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mlops.Durable.Local;

/// <summary>
/// A durabletask-dotnet worker whose backend is DTFx's <see cref="TaskHubWorker"/> on the Azure Storage provider, in
/// process. The orchestrator and activity classes are the ones Durable Functions runs in Azure; here each work item
/// gets a fresh shim from <see cref="DurableTaskShimFactory"/> (shims are stateful, one per execution).
/// </summary>
public sealed class LocalDurableWorker(
    string name,
    IDurableTaskFactory factory,
    LocalTaskHub hub,
    IServiceProvider services,
    IOptionsMonitor<DurableTaskWorkerOptions> workerOptions,
    ILoggerFactory loggerFactory
) : DurableTaskWorker(name, factory)
{
    private readonly ILogger _log = loggerFactory.CreateLogger<LocalDurableWorker>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var shims = new DurableTaskShimFactory(workerOptions.Get(Name), loggerFactory);
        var worker = new TaskHubWorker(
            hub.Service,
            new ShimResolver<TaskOrchestration>(name =>
                Factory.TryCreateOrchestrator(name, services, out var o)
                    ? shims.CreateOrchestration(name, o)
                    : new UnknownOrchestration(name)
            ),
            new ShimResolver<TaskActivity>(name =>
                Factory.TryCreateActivity(name, services, out var a)
                    ? shims.CreateActivity(name, a)
                    : new UnknownActivity(name)
            ),
            loggerFactory
        );
        worker.ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails;

        // Storage may still be starting (or briefly down): keep trying rather than failing the host.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await hub.EnsureCreatedAsync();
                await worker.StartAsync();
                break;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                _log.LogWarning("Durable worker could not start (attempt {Attempt}): {Error}", attempt, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, attempt)), stoppingToken);
            }
        }
        _log.LogInformation(
            "Durable worker started on task hub '{TaskHub}' ({Partitions} partitions)",
            hub.Options.TaskHubName,
            hub.Options.PartitionCount
        );

        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException) { }
        // A graceful stop lets in-flight work items finish and releases partition leases so another host takes over at
        // once.
        await worker.StopAsync(isForced: false);
    }

    /// <summary>DTFx asks for a task object per work item by name; this builds one from the durabletask-dotnet
    /// registry.</summary>
    private sealed class ShimResolver<T>(Func<TaskName, T?> create) : INameVersionObjectManager<T>
        where T : class
    {
        public void Add(ObjectCreator<T> creator) =>
            throw new NotSupportedException(
                "Tasks are registered with DurableTaskRegistry (AddTasks), not on the DTFx worker."
            );

        public T? GetObject(string name, string? version) => create(new TaskName(name));
    }

    /// <summary>
    /// Stands in for a name nothing is registered under: the instance fails at once with a message that says so.
    /// (DTFx would otherwise abandon the work item and redeliver it forever.)
    /// </summary>
    private sealed class UnknownOrchestration(TaskName name) : TaskOrchestration
    {
        /// <remarks>Faults the returned task (never throws synchronously): DTFx fails the instance for a faulted
        /// task, but treats a synchronous throw as a dispatcher error and backs the whole dispatcher off.</remarks>
        public override async Task<string> Execute(OrchestrationContext context, string input)
        {
            await Task.CompletedTask;
            throw new InvalidOperationException($"No orchestrator named '{name.Name}' is registered in this app.");
        }

        public override string? GetStatus() => null;

        public override void RaiseEvent(OrchestrationContext context, string name, string input) { }
    }

    private sealed class UnknownActivity(TaskName name) : TaskActivity
    {
        public override string Run(TaskContext context, string input) =>
            throw new InvalidOperationException($"No activity named '{name.Name}' is registered in this app.");
    }
}
