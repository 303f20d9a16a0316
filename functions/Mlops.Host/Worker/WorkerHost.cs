using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Mlops.Host.Hosting;
using Mlops.Host.Protocol;

namespace Mlops.Host.Worker;

/// <summary>
/// Runs the worker process under supervision and is the host's <see cref="IWorkerInvoker"/>: serves the gRPC event
/// stream on a loopback port (h2c), starts the worker, does the handshake, restarts the worker when it dies (short
/// backoff; invocations in flight fail, later ones wait for the new worker), and stops it with WorkerTerminate.
/// </summary>
public sealed class WorkerHost : IWorkerInvoker, IAsyncDisposable
{
    /// <summary>The grace period the host gives a terminating worker (azure-functions-host v4.1037,
    /// WorkerConstants).</summary>
    public static readonly TimeSpan TerminateGracePeriod = TimeSpan.FromSeconds(5);

    private readonly WorkerAppConfig _app;
    private readonly IReadOnlyDictionary<string, string?> _environment;
    private readonly HostLog _log;
    private readonly TimeSpan _startTimeout;
    private readonly ConcurrentDictionary<string, WorkerSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, BoundInput[]> _inputsByFunction = new(
        StringComparer.OrdinalIgnoreCase
    );
    private readonly CancellationTokenSource _stopping = new();

    // Set as soon as the host begins to stop: Ctrl-C reaches the worker too (same process group), and a worker that
    // exits during shutdown must not be restarted.
    private volatile bool _shuttingDown;
    private readonly TaskCompletionSource _firstStart = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TaskCompletionSource<WorkerSession> _ready = NewReady();
    private volatile WorkerSession? _current;
    private IReadOnlyList<HostedFunction> _functions = [];
    private IReadOnlyList<IInputBindingProvider> _inputProviders = [];
    private WebApplication? _grpcServer;
    private Task? _supervisor;

    private readonly WorkerLogFilter _logFilter;

    public WorkerHost(
        WorkerAppConfig app,
        IReadOnlyDictionary<string, string?> environment,
        HostLog log,
        TimeSpan startTimeout,
        WorkerLogFilter? logFilter = null
    )
    {
        _logFilter = logFilter ?? WorkerLogFilter.Default;
        _app = app;
        _environment = environment;
        _log = log;
        _startTimeout = startTimeout;
    }

    /// <summary>The gRPC address the worker connects to.</summary>
    public Uri? GrpcUri { get; private set; }

    /// <summary>How long the last worker start took, from process start to functions loaded.</summary>
    public TimeSpan LastStartToReady { get; private set; }

    /// <summary>How many times the worker has been (re)started.</summary>
    public int Starts { get; private set; }

    /// <summary>The current worker's process id (null between runs).</summary>
    public int? WorkerProcessId => _current?.Process.ProcessId;

    /// <summary>The worker's HttpUri capability (ASP.NET Core integration), once ready.</summary>
    public Uri? WorkerHttpUri => _current?.HttpUri;

    /// <inheritdoc />
    public IReadOnlyList<HostedFunction> Functions => _functions;

    /// <summary>The providers of non-trigger inputs (durableClient, ...), set once the host's services are
    /// built.</summary>
    internal void UseInputBindingProviders(IEnumerable<IInputBindingProvider> providers) =>
        _inputProviders = providers.ToList();

    /// <summary>Starts the gRPC server and the worker, and waits until the worker has loaded its functions.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new HostLogLoggerProvider(_log));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null; // the host announces int.MaxValue to the worker; accept what it sends
            o.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton(this);
        _grpcServer = builder.Build();
        _grpcServer.MapGrpcService<FunctionRpcService>();
        await _grpcServer.StartAsync(cancellationToken);
        string address = _grpcServer
            .Services.GetRequiredService<IServer>()
            .Features.Get<IServerAddressesFeature>()!
            .Addresses.First();
        GrpcUri = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal) + "/");
        _supervisor = Task.Run(SuperviseAsync, CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_startTimeout);
        try
        {
            await _firstStart.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The worker did not become ready within {_startTimeout.TotalSeconds:0} s.");
        }
    }

    internal WorkerSession? FindSession(string workerId) => _sessions.GetValueOrDefault(workerId);

    private async Task SuperviseAsync()
    {
        int quickFailures = 0;
        while (!_stopping.IsCancellationRequested)
        {
            var clock = Stopwatch.StartNew();
            WorkerSession? session = null;
            try
            {
                var process = WorkerProcess.Start(_app, GrpcUri!, _environment, _log);
                Starts++;
                session = new WorkerSession(process, _log, _logFilter);
                _sessions[process.WorkerId] = session;
                _current = session;
                using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                handshakeTimeout.CancelAfter(_startTimeout);
                var first = await Task.WhenAny(
                    session.StreamAttached,
                    process.Exited,
                    Task.Delay(Timeout.Infinite, handshakeTimeout.Token)
                );
                if (first == process.Exited)
                    throw new InvalidOperationException(
                        $"The worker exited with code {process.ExitCode} before connecting."
                    );
                if (first != session.StreamAttached)
                    throw new TimeoutException($"The worker did not connect within {_startTimeout.TotalSeconds:0} s.");
                await session.HandshakeAsync(_app, handshakeTimeout.Token);
                LastStartToReady = clock.Elapsed;
                _functions = session.Functions;
                _log.Host(
                    $"worker ready: pid {process.ProcessId}, {session.Functions.Count} functions, start to ready {LastStartToReady.TotalMilliseconds:0} ms"
                );
                _ready.TrySetResult(session);
                _firstStart.TrySetResult();
                await Task.WhenAny(process.Exited, session.StreamEnded);
                if (!process.Exited.IsCompleted && !_stopping.IsCancellationRequested)
                    process.Kill(); // stream lost: restart the channel
                await process.Exited;
                if (!_stopping.IsCancellationRequested)
                    _log.Host($"worker (pid {process.ProcessId}) exited with code {process.ExitCode}");
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                _log.Host("worker start failed: " + e.Message);
                if (!_firstStart.Task.IsCompleted)
                {
                    _firstStart.TrySetException(e);
                    return; // the first start failing is a start-up error for the caller, not a crash loop
                }
            }
            catch (Exception)
            { /* stopping */
            }
            finally
            {
                if (_ready.Task.IsCompleted)
                    _ready = NewReady(); // callers from now on wait for the next worker
                if (session is not null)
                {
                    session.Fail(
                        new WorkerExitedException("The worker process exited while the invocation was in flight.")
                    );
                    _sessions.TryRemove(session.Process.WorkerId, out _);
                    if (_current == session)
                        _current = null;
                    await session.DisposeAsync();
                }
            }
            if (_stopping.IsCancellationRequested || _shuttingDown)
                break;
            quickFailures = clock.Elapsed < TimeSpan.FromSeconds(30) ? quickFailures + 1 : 0;
            var backoff = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(quickFailures, 6))));
            _log.Host($"restarting the worker in {backoff.TotalMilliseconds:0} ms");
            try
            {
                await Task.Delay(backoff, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static TaskCompletionSource<WorkerSession> NewReady() =>
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public Task WaitUntilReadyAsync(CancellationToken cancellationToken = default) =>
        ReadySessionAsync(cancellationToken);

    /// <summary>The ready worker (waits through a restart).</summary>
    internal Task<WorkerSession> ReadySessionAsync(CancellationToken cancellationToken = default)
    {
        var ready = _ready.Task;
        if (ready.IsCompletedSuccessfully)
            return ready;
        return ready.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<InvocationResponse> InvokeAsync(
        HostedFunction function,
        InvocationRequest request,
        CancellationToken cancellationToken = default
    )
    {
        var session = await ReadySessionAsync(cancellationToken);
        Prepare(session, function, request);
        return await session.Invoke(request, cancellationToken);
    }

    /// <summary>Fills the invocation id, the worker's current function id and the inputs the request does not
    /// carry.</summary>
    internal void Prepare(WorkerSession session, HostedFunction function, InvocationRequest request)
    {
        if (string.IsNullOrEmpty(request.InvocationId))
            request.InvocationId = Guid.NewGuid().ToString();
        if (!session.TryGetFunctionId(function.Name, out string functionId))
            throw new InvalidOperationException($"The worker has no function named {function.Name}.");
        request.FunctionId = functionId;
        // The worker reads the trace context of every invocation (a missing one fails it with a
        // NullReferenceException); the host always sends one, from the current activity.
        request.TraceContext ??= new RpcTraceContext { TraceParent = Activity.Current?.Id ?? NewTraceParent() };
        var inputs = _inputsByFunction.GetOrAdd(function.Name, _ => BindableInputs(function));
        foreach (var input in inputs)
        {
            if (request.InputData.Any(p => p.Name == input.Name))
                continue;
            request.InputData.Add(
                new ParameterBinding
                {
                    Name = input.Name,
                    Data = input.Provider.Bind(function, input.Name, input.Binding),
                }
            );
        }
    }

    private static string NewTraceParent()
    {
        Span<byte> bytes = stackalloc byte[24];
        Random.Shared.NextBytes(bytes);
        return $"00-{Convert.ToHexStringLower(bytes[..16])}-{Convert.ToHexStringLower(bytes[16..])}-00";
    }

    private BoundInput[] BindableInputs(HostedFunction function)
    {
        string trigger = function.Trigger.Key;
        var result = new List<BoundInput>();
        foreach (var (name, binding) in function.Metadata.Bindings)
        {
            if (name == trigger || binding.Direction == BindingInfo.Types.Direction.Out)
                continue;
            var provider = _inputProviders.FirstOrDefault(p => p.CanBind(binding));
            if (provider is null)
                _log.Host(
                    $"no input binding provider for {binding.Type} ({function.Name}.{name}): the worker gets none"
                );
            else
                result.Add(new BoundInput(name, binding, provider));
        }
        return result.ToArray();
    }

    /// <summary>Kills the worker process (SIGKILL) and waits until it is gone; the supervisor starts a new
    /// one.</summary>
    public async Task KillWorkerAsync()
    {
        var session = _current ?? (await ReadySessionAsync());
        session.Process.Kill();
        await session.Process.Exited;
    }

    /// <summary>Marks the host as stopping: a worker that exits from now on is not restarted.</summary>
    public void BeginStop() => _shuttingDown = true;

    /// <summary>Stops the worker (WorkerTerminate, then the grace period, then a kill) and the gRPC server.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
            return;
        _stopping.Cancel();
        if (_current is { } session)
        {
            session.RequestTerminate(TerminateGracePeriod);
            await session.Process.StopAsync(
                session.Capabilities.ContainsKey("HandlesWorkerTerminateMessage") ? TerminateGracePeriod : TimeSpan.Zero
            );
        }
        if (_supervisor is not null)
            await _supervisor;
        if (_grpcServer is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _grpcServer.StopAsync(cts.Token);
            await _grpcServer.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private sealed record BoundInput(string Name, BindingInfo Binding, IInputBindingProvider Provider);
}
