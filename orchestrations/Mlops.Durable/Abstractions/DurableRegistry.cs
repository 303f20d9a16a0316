using Microsoft.Extensions.DependencyInjection;

namespace Mlops.Durable;

/// <summary>
/// The orchestrators and activities a worker can run, by name. Names are case-sensitive and must be unique per kind.
/// Class-based entries are created per call, through the worker's <see cref="IServiceProvider"/> when one is given
/// (constructor injection via <see cref="ActivatorUtilities"/>), else with their parameterless constructor.
/// </summary>
public sealed class DurableRegistry
{
    private readonly Dictionary<string, Func<IServiceProvider?, IOrchestrator>> orchestrators = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<IServiceProvider?, IActivity>> activities = new(StringComparer.Ordinal);

    /// <summary>Registers a function orchestrator.</summary>
    public DurableRegistry AddOrchestrator(string name, Func<OrchestrationContext, Task<object?>> orchestrator)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        var wrapper = new FuncOrchestrator(orchestrator);
        return Add(orchestrators, name, _ => wrapper, "orchestrator");
    }

    /// <summary>Registers a class-based orchestrator under <paramref name="name"/> (default: the class name).</summary>
    public DurableRegistry AddOrchestrator<TOrchestrator>(string? name = null) where TOrchestrator : class, IOrchestrator =>
        Add(orchestrators, name ?? typeof(TOrchestrator).Name, sp => Create<TOrchestrator>(sp), "orchestrator");

    /// <summary>Registers a function activity.</summary>
    public DurableRegistry AddActivity(string name, Func<ActivityContext, Task<object?>> activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var wrapper = new FuncActivity(activity);
        return Add(activities, name, _ => wrapper, "activity");
    }

    /// <summary>Registers a function activity that needs services from the worker's <see cref="IServiceProvider"/>.</summary>
    public DurableRegistry AddActivity(string name, Func<ActivityContext, IServiceProvider, Task<object?>> activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return Add(activities, name, sp => new FuncActivity(ctx => activity(ctx, sp ?? EmptyServices.Instance)), "activity");
    }

    /// <summary>Registers a class-based activity under <paramref name="name"/> (default: the class name).</summary>
    public DurableRegistry AddActivity<TActivity>(string? name = null) where TActivity : class, IActivity =>
        Add(activities, name ?? typeof(TActivity).Name, sp => Create<TActivity>(sp), "activity");

    /// <summary>Registered orchestrator names.</summary>
    public IReadOnlyCollection<string> OrchestratorNames => orchestrators.Keys;

    /// <summary>Registered activity names.</summary>
    public IReadOnlyCollection<string> ActivityNames => activities.Keys;

    internal bool TryCreateOrchestrator(string name, IServiceProvider? services, out IOrchestrator orchestrator)
    {
        orchestrator = null!;
        if (!orchestrators.TryGetValue(name, out var f)) return false;
        orchestrator = f(services);
        return true;
    }

    internal bool TryCreateActivity(string name, IServiceProvider? services, out IActivity activity)
    {
        activity = null!;
        if (!activities.TryGetValue(name, out var f)) return false;
        activity = f(services);
        return true;
    }

    private DurableRegistry Add<T>(Dictionary<string, T> map, string name, T factory, string kind)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!map.TryAdd(name, factory)) throw new ArgumentException($"An {kind} named '{name}' is already registered.", nameof(name));
        return this;
    }

    private static T Create<T>(IServiceProvider? services) where T : class =>
        services is null ? Activator.CreateInstance<T>() : ActivatorUtilities.GetServiceOrCreateInstance<T>(services);

    private sealed class FuncOrchestrator(Func<OrchestrationContext, Task<object?>> f) : IOrchestrator
    {
        public Task<object?> RunAsync(OrchestrationContext context) => f(context);
    }

    private sealed class FuncActivity(Func<ActivityContext, Task<object?>> f) : IActivity
    {
        public Task<object?> RunAsync(ActivityContext context) => f(context);
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();
        public object? GetService(Type serviceType) => null;
    }
}
