using DurableTask.Core;

namespace Mlops.Host.Durable;

/// <summary>
/// Runs DTFx's <see cref="TaskHubWorker"/> on the task hub with <see cref="WorkerDispatchMiddleware"/> in its
/// orchestration and activity pipelines: the host's half of Durable Functions. Starting retries while storage is
/// unreachable; stopping is graceful (in-flight work items finish and partition leases are released, so another host
/// takes over at once) unless the host's shutdown timeout runs out first.
/// </summary>
public sealed class DurableDispatcherService(
    DurableTaskHub hub,
    WorkerDispatchMiddleware middleware,
    ILoggerFactory loggerFactory
) : BackgroundService
{
    private readonly ILogger _log = loggerFactory.CreateLogger<DurableDispatcherService>();
    private TaskHubWorker? _worker;

    /// <summary>Completes when the dispatcher has started (tests and the banner wait on it).</summary>
    public Task Started => _started.Task;

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var worker = new TaskHubWorker(
            hub.Service,
            new NoLocalTasks<TaskOrchestration>(),
            new NoLocalTasks<TaskActivity>(),
            loggerFactory
        )
        {
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        worker.AddOrchestrationDispatcherMiddleware(middleware.CallOrchestratorAsync);
        worker.AddActivityDispatcherMiddleware(middleware.CallActivityAsync);

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await hub.EnsureCreatedAsync(stoppingToken);
                await worker.StartAsync();
                break;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                _log.LogWarning(
                    "Durable task hub '{Hub}' could not start (attempt {Attempt}), retrying: {Error}",
                    hub.Options.HubName,
                    attempt,
                    e.Message
                );
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, attempt)), stoppingToken);
            }
        }
        _worker = worker;
        _started.TrySetResult();
        _log.LogInformation(
            "Durable task hub '{Hub}' dispatching to the worker ({Partitions} partitions, extended sessions {Sessions}, worker id {WorkerId})",
            hub.Options.HubName,
            hub.Options.PartitionCount,
            hub.Options.ExtendedSessionsEnabled ? "on" : "off",
            hub.WorkerId
        );
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_worker is null)
            return;
        try
        {
            await _worker.StopAsync(isForced: false).WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // Out of time: leave the rest to lease expiry and message visibility timeouts on another host.
            _ = _worker.StopAsync(isForced: true);
        }
    }

    /// <summary>
    /// DTFx asks for a local task object per work item; there are none here (the middleware runs everything in the
    /// worker), and DTFx accepts a null object when middleware supplies the result.
    /// </summary>
    private sealed class NoLocalTasks<T> : INameVersionObjectManager<T>
        where T : class
    {
        public void Add(ObjectCreator<T> creator) =>
            throw new NotSupportedException(
                "Orchestrators and activities are functions in the worker, not DTFx objects."
            );

        public T GetObject(string name, string? version) => null!;
    }
}
