namespace Mlops.Durable;

/// <summary>
/// Base class for class-based orchestrators, registered with <see cref="DurableRegistry.AddOrchestrator{TOrchestrator}"/>.
/// A new instance is created for every replay, so keep no state in fields.
/// </summary>
/// <typeparam name="TIn">Input type (JSON).</typeparam>
/// <typeparam name="TOut">Output type (JSON).</typeparam>
public abstract class Orchestrator<TIn, TOut> : IOrchestrator
{
    /// <summary>The orchestration logic.</summary>
    public abstract Task<TOut> RunAsync(OrchestrationContext context, TIn input);

    async Task<object?> IOrchestrator.RunAsync(OrchestrationContext context) => await RunAsync(context, context.GetInput<TIn>());
}

/// <summary>
/// Base class for class-based activities, registered with <see cref="DurableRegistry.AddActivity{TActivity}"/>.
/// Constructed per call through the worker's <see cref="IServiceProvider"/> (constructor injection), so activities can
/// take services such as storage clients.
/// </summary>
/// <typeparam name="TIn">Input type (JSON).</typeparam>
/// <typeparam name="TOut">Output type (JSON).</typeparam>
public abstract class Activity<TIn, TOut> : IActivity
{
    /// <summary>The activity's work. Runs at least once; see <see cref="ActivityContext.IdempotencyKey"/>.</summary>
    public abstract Task<TOut> RunAsync(ActivityContext context, TIn input);

    async Task<object?> IActivity.RunAsync(ActivityContext context) => await RunAsync(context, context.GetInput<TIn>());
}

/// <summary>Untyped orchestrator contract used by the engine.</summary>
public interface IOrchestrator
{
    /// <summary>Runs the orchestration and returns its output.</summary>
    Task<object?> RunAsync(OrchestrationContext context);
}

/// <summary>Untyped activity contract used by the engine.</summary>
public interface IActivity
{
    /// <summary>Runs the activity and returns its result.</summary>
    Task<object?> RunAsync(ActivityContext context);
}
