using System.Collections.Concurrent;
using Mlops.Host.Worker;

namespace Mlops.Host.Triggers;

/// <summary>
/// The start every trigger listener of this host shares: wait until the worker is ready, read its functions of the
/// listener's trigger type (disabled and broken ones left out, the broken ones' errors kept, as the real host keeps
/// "function errors"), say it has started, then run what was found until the host stops.
/// </summary>
/// <typeparam name="TFunction">One function as the listener runs it (its trigger resolved).</typeparam>
public abstract class TriggerListener<TFunction>(IWorkerInvoker invoker) : BackgroundService
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<TFunction> _functions = [];

    /// <summary>The worker the listener invokes.</summary>
    protected IWorkerInvoker Invoker => invoker;

    /// <summary>The functions this listener runs (after start-up; disabled and broken ones are left out).</summary>
    public IReadOnlyList<TFunction> Functions => _functions;

    /// <summary>Errors that kept a function from running, by function name.</summary>
    public ConcurrentDictionary<string, string> FunctionErrors { get; } = new();

    /// <summary>Completes once the listener has read the worker's functions (and found something to run or
    /// not).</summary>
    public Task Started => _started.Task;

    /// <inheritdoc />
    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await invoker.WaitUntilReadyAsync(stoppingToken);
            _functions = LoadFunctions();
        }
        finally
        {
            _started.TrySetResult();
        }
        if (_functions.Count > 0)
            await RunAsync(stoppingToken);
    }

    /// <summary>The worker's functions this listener runs; records in <see cref="FunctionErrors"/> those that cannot
    /// run.</summary>
    protected abstract IReadOnlyList<TFunction> LoadFunctions();

    /// <summary>Runs <see cref="Functions"/> (at least one) until <paramref name="stoppingToken"/> fires.</summary>
    protected abstract Task RunAsync(CancellationToken stoppingToken);
}
