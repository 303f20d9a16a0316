using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Mlops.Host.Hosting;
using Mlops.Host.Protocol;
using GrpcRpcException = Grpc.Core.RpcException;

namespace Mlops.Host.Worker;

/// <summary>
/// One worker process and its gRPC event stream: the handshake (WorkerInit, worker indexing, function load) and the
/// invocations in flight, correlated by invocation id. A new session is made for every worker (re)start.
/// </summary>
internal sealed class WorkerSession : IAsyncDisposable
{
    // Messages the handshake waits for, in the order they arrive; invocation responses and logs never land here.
    private readonly Channel<StreamingMessage> _control = Channel.CreateUnbounded<StreamingMessage>(
        new() { SingleReader = true }
    );
    private readonly Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>(
        new() { SingleReader = true }
    );
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> _inFlight = new(
        StringComparer.Ordinal
    );
    private readonly TaskCompletionSource _streamAttached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _streamEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HostLog _log;
    private Dictionary<string, string> _functionIds = new(StringComparer.OrdinalIgnoreCase);
    private volatile Exception? _failure;

    private readonly WorkerLogFilter _logFilter;

    public WorkerSession(WorkerProcess process, HostLog log, WorkerLogFilter? logFilter = null)
    {
        Process = process;
        _log = log;
        _logFilter = logFilter ?? WorkerLogFilter.Default;
    }

    public WorkerProcess Process { get; }

    /// <summary>The worker's capabilities from WorkerInitResponse (HttpUri, RpcHttpTriggerMetadataRemoved,
    /// ...).</summary>
    public IReadOnlyDictionary<string, string> Capabilities { get; private set; } = new Dictionary<string, string>();

    /// <summary>The worker's own HTTP endpoint (ASP.NET Core integration), from the HttpUri capability; null without
    /// it.</summary>
    public Uri? HttpUri { get; private set; }

    /// <summary>The destination prefix for forwarding: <see cref="HttpUri"/> as a string without trailing
    /// slash.</summary>
    public string? HttpDestinationPrefix { get; private set; }

    /// <summary>Every function the worker indexed and loaded, ordered by name (case-insensitive) as the host orders
    /// them.</summary>
    public IReadOnlyList<HostedFunction> Functions { get; private set; } = [];

    /// <summary>Completes when the worker's event stream has ended (process gone or stream broken).</summary>
    public Task StreamEnded => _streamEnded.Task;

    /// <summary>Completes when the worker has opened its event stream.</summary>
    public Task StreamAttached => _streamAttached.Task;

    /// <summary>Runs the worker's event stream until it ends: one writer loop, the caller's loop reads.</summary>
    public async Task RunStreamAsync(
        IAsyncStreamReader<StreamingMessage> requests,
        IServerStreamWriter<StreamingMessage> responses,
        CancellationToken cancellationToken
    )
    {
        _streamAttached.TrySetResult();
        var writer = Task.Run(
            async () =>
            {
                await foreach (var message in _outbound.Reader.ReadAllAsync(cancellationToken))
                    await responses.WriteAsync(message, cancellationToken);
            },
            cancellationToken
        );
        try
        {
            while (await requests.MoveNext(cancellationToken))
                Dispatch(requests.Current);
        }
        catch (Exception e)
            when (e is IOException or OperationCanceledException or GrpcRpcException or InvalidOperationException)
        {
            // The worker went away mid-read: the same as a clean end of stream for everyone waiting.
        }
        finally
        {
            Fail(
                new WorkerExitedException(
                    "The worker's event stream ended (the worker process exited or disconnected)."
                )
            );
            _outbound.Writer.TryComplete();
            try
            {
                await writer;
            }
            catch (Exception e)
                when (e is IOException or OperationCanceledException or InvalidOperationException or GrpcRpcException)
            { }
        }
    }

    private void Dispatch(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (_inFlight.TryRemove(message.InvocationResponse.InvocationId, out var pending))
                    pending.TrySetResult(message.InvocationResponse);
                break;
            case StreamingMessage.ContentOneofCase.RpcLog:
                var log = message.RpcLog;
                // host.json logging.logLevel (Information by default) decides, by the worker's category.
                if (!_logFilter.IsEnabled(log.Category ?? "", (Microsoft.Extensions.Logging.LogLevel)(int)log.Level))
                    break;

                // System logs are the worker's own chatter; user logs (ILogger in functions) are what people look for.
                string text =
                    log.Exception is { } ex && !string.IsNullOrEmpty(ex.Message)
                        ? $"{log.Message} ({ex.Message})"
                        : log.Message;
                if (text.Contains('\n'))
                    text = text.ReplaceLineEndings(" ");
                _log.Line($"worker:{log.Level}", string.IsNullOrEmpty(log.Category) ? text : $"{log.Category}: {text}");
                break;
            case StreamingMessage.ContentOneofCase.WorkerStatusRequest:
                Send(
                    new StreamingMessage
                    {
                        RequestId = message.RequestId,
                        WorkerStatusResponse = new WorkerStatusResponse(),
                    }
                );
                break;
            default:
                _control.Writer.TryWrite(message);
                break;
        }
    }

    /// <summary>Queues a message for the worker.</summary>
    public void Send(StreamingMessage message)
    {
        if (!_outbound.Writer.TryWrite(message))
            throw _failure ?? new WorkerExitedException("The worker's event stream is closed.");
    }

    /// <summary>
    /// The host's handshake (azure-functions-host v4.1037, GrpcWorkerChannel): WorkerInitRequest → WorkerInitResponse,
    /// FunctionsMetadataRequest → FunctionMetadataResponse (worker indexing), then the function loads (one collection
    /// when the worker supports SupportsLoadResponseCollection, else one request per function).
    /// </summary>
    public async Task HandshakeAsync(WorkerAppConfig app, CancellationToken cancellationToken)
    {
        var init = new WorkerInitRequest
        {
            HostVersion = LocalFunctionsHost.HostVersion,
            WorkerDirectory = app.AppDirectory,
            FunctionAppDirectory = app.AppDirectory,
        };
        Send(new StreamingMessage { RequestId = Guid.NewGuid().ToString(), WorkerInitRequest = init });
        var initResponse = (
            await ReceiveAsync(StreamingMessage.ContentOneofCase.WorkerInitResponse, cancellationToken)
        ).WorkerInitResponse;
        ThrowIfFailed(initResponse.Result, "WorkerInit");
        Capabilities = new Dictionary<string, string>(initResponse.Capabilities, StringComparer.Ordinal);
        if (Capabilities.TryGetValue("HttpUri", out string? httpUri) && !string.IsNullOrEmpty(httpUri))
        {
            HttpUri = new Uri(httpUri);
            HttpDestinationPrefix = httpUri.TrimEnd('/');
        }

        Send(
            new StreamingMessage
            {
                RequestId = Guid.NewGuid().ToString(),
                FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = app.AppDirectory },
            }
        );
        var metadata = (
            await ReceiveAsync(StreamingMessage.ContentOneofCase.FunctionMetadataResponse, cancellationToken)
        ).FunctionMetadataResponse;
        ThrowIfFailed(metadata.Result, "Worker indexing");
        var indexed = metadata.UseDefaultMetadataIndexing
            ? FunctionsMetadataFile.Read(app.AppDirectory)
            : metadata.FunctionMetadataResults.Where(f => f is not null).ToList();
        foreach (var f in indexed.Where(f => f.Status is { Status: StatusResult.Types.Status.Failure }))
            _log.Host($"the worker failed to index {f.Name}: {f.Status.Exception?.Message}");
        indexed = indexed.Where(f => f.Status is not { Status: StatusResult.Types.Status.Failure }).ToList();
        foreach (var f in indexed.Where(f => string.IsNullOrEmpty(f.FunctionId)))
            f.FunctionId = Guid.NewGuid().ToString();

        var loads = indexed.Select(f => new FunctionLoadRequest { FunctionId = f.FunctionId, Metadata = f }).ToList();
        var loaded = new List<FunctionLoadResponse>();
        if (Capabilities.ContainsKey("SupportsLoadResponseCollection"))
        {
            var collection = new FunctionLoadRequestCollection();
            collection.FunctionLoadRequests.AddRange(loads);
            Send(
                new StreamingMessage
                {
                    RequestId = Guid.NewGuid().ToString(),
                    FunctionLoadRequestCollection = collection,
                }
            );
            var response = await ReceiveAsync(
                StreamingMessage.ContentOneofCase.FunctionLoadResponseCollection,
                cancellationToken
            );
            loaded.AddRange(response.FunctionLoadResponseCollection.FunctionLoadResponses);
        }
        else
        {
            foreach (var load in loads)
                Send(new StreamingMessage { RequestId = Guid.NewGuid().ToString(), FunctionLoadRequest = load });
            for (int i = 0; i < loads.Count; i++)
                loaded.Add(
                    (
                        await ReceiveAsync(StreamingMessage.ContentOneofCase.FunctionLoadResponse, cancellationToken)
                    ).FunctionLoadResponse
                );
        }
        var failed = loaded
            .Where(l => l.Result is { Status: StatusResult.Types.Status.Failure })
            .Select(l => l.FunctionId)
            .ToHashSet();
        foreach (var l in loaded.Where(l => failed.Contains(l.FunctionId)))
            _log.Host($"the worker failed to load function {l.FunctionId}: {l.Result.Exception?.Message}");
        // FunctionMetadataManager orders functions by name, case-insensitive; the route table and every listing follow
        // it.
        Functions = indexed
            .Where(f => !failed.Contains(f.FunctionId))
            .Select(f => new HostedFunction(f.FunctionId, f.Name, f))
            .OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
        _functionIds = Functions.ToDictionary(f => f.Name, f => f.FunctionId, StringComparer.OrdinalIgnoreCase);
    }

    private async Task<StreamingMessage> ReceiveAsync(
        StreamingMessage.ContentOneofCase expected,
        CancellationToken cancellationToken
    )
    {
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _ = _streamEnded.Task.ContinueWith(_ => ended.Cancel(), TaskScheduler.Default);
        while (true)
        {
            StreamingMessage message;
            try
            {
                message = await _control.Reader.ReadAsync(ended.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw _failure
                    ?? new WorkerExitedException($"The worker's stream ended while the host waited for {expected}.");
            }
            if (message.ContentCase == expected)
                return message;
            _log.Host($"ignoring {message.ContentCase} from the worker while waiting for {expected}");
        }
    }

    private static void ThrowIfFailed(StatusResult? result, string step)
    {
        if (result is { Status: StatusResult.Types.Status.Failure })
            throw new InvalidOperationException(
                $"{step} failed in the worker: {result.Exception?.Message ?? result.Result}"
            );
    }

    /// <summary>The current function id for a function name (ids may differ between worker runs).</summary>
    public bool TryGetFunctionId(string name, out string functionId) => _functionIds.TryGetValue(name, out functionId!);

    /// <summary>
    /// Registers an invocation and sends it; the task completes with the worker's InvocationResponse, or fails with
    /// <see cref="WorkerExitedException"/> when the worker is gone. Never throws itself.
    /// </summary>
    public Task<InvocationResponse> Invoke(InvocationRequest request, CancellationToken cancellationToken)
    {
        var pending = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_failure is { } failure)
        {
            pending.SetException(failure);
            return pending.Task;
        }
        _inFlight[request.InvocationId] = pending;
        if (_failure is { } late && _inFlight.TryRemove(request.InvocationId, out _))
        {
            pending.TrySetException(late);
            return pending.Task;
        }
        if (!_outbound.Writer.TryWrite(new StreamingMessage { InvocationRequest = request }))
        {
            // Never throws: callers await the task (the HTTP front has already started forwarding by now).
            if (_inFlight.TryRemove(request.InvocationId, out _))
                pending.TrySetException(_failure ?? new WorkerExitedException("The worker's event stream is closed."));
            return pending.Task;
        }
        if (cancellationToken.CanBeCanceled)
        {
            // As the host does when the worker declares HandlesInvocationCancelMessage: tell it, and stop waiting.
            var registration = cancellationToken.Register(() =>
            {
                if (!_inFlight.TryRemove(request.InvocationId, out var p))
                    return;
                if (Capabilities.ContainsKey("HandlesInvocationCancelMessage"))
                    _outbound.Writer.TryWrite(
                        new StreamingMessage
                        {
                            InvocationCancel = new InvocationCancel { InvocationId = request.InvocationId },
                        }
                    );
                p.TrySetCanceled(cancellationToken);
            });
            _ = pending.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        return pending.Task;
    }

    /// <summary>Fails every invocation in flight and every later one (the worker is gone).</summary>
    public void Fail(Exception reason)
    {
        _failure ??= reason;
        _streamEnded.TrySetResult();
        _streamAttached.TrySetException(reason);
        _ = _streamAttached.Task.Exception; // observed: a worker that never connected is reported elsewhere
        foreach (var id in _inFlight.Keys)
            if (_inFlight.TryRemove(id, out var pending))
                pending.TrySetException(reason);
    }

    /// <summary>Asks the worker to shut down (WorkerTerminate with the host's 5 s grace period) when it says it handles
    /// it.</summary>
    public void RequestTerminate(TimeSpan grace)
    {
        if (!Capabilities.ContainsKey("HandlesWorkerTerminateMessage"))
            return;
        _outbound.Writer.TryWrite(
            new StreamingMessage
            {
                WorkerTerminate = new WorkerTerminate
                {
                    GracePeriod = new Duration { Seconds = (long)grace.TotalSeconds },
                },
            }
        );
    }

    public ValueTask DisposeAsync()
    {
        Fail(new WorkerExitedException("The worker was stopped."));
        _outbound.Writer.TryComplete();
        Process.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The worker process exited (or its stream broke) while an invocation was in flight, as under the real
/// host.</summary>
public sealed class WorkerExitedException(string message) : Exception(message);
