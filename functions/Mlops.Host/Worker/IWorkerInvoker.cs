using Mlops.Host.Protocol;

namespace Mlops.Host.Worker;

/// <summary>
/// Invokes functions in the worker process over the host's gRPC stream. The one way any trigger source (HTTP, Durable
/// dispatch, blob events, timers) reaches the worker; it survives worker restarts (a call waits for the worker to be
/// ready again, or fails when the worker died mid-invocation, as under the real host).
/// </summary>
public interface IWorkerInvoker
{
    /// <summary>Every function the worker indexed, once the worker is ready (empty before).</summary>
    IReadOnlyList<HostedFunction> Functions { get; }

    /// <summary>Completes when the worker has indexed and loaded its functions.</summary>
    Task WaitUntilReadyAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends an invocation and returns the worker's response. The invoker fills <c>invocation_id</c> when empty and
    /// adds every input binding the request does not carry from the registered <see cref="IInputBindingProvider"/>s
    /// (e.g. the durableClient binding).
    /// </summary>
    Task<InvocationResponse> InvokeAsync(
        HostedFunction function,
        InvocationRequest request,
        CancellationToken cancellationToken = default
    );
}

/// <summary>Supplies the value of a non-trigger input binding (such as <c>durableClient</c>) for an
/// invocation.</summary>
public interface IInputBindingProvider
{
    /// <summary>True when this provider binds bindings of this type (e.g. "durableClient").</summary>
    bool CanBind(BindingInfo binding);

    TypedData Bind(HostedFunction function, string bindingName, BindingInfo binding);
}
