using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Host.Protocol;
using Mlops.Host.Triggers;
using Mlops.Host.Worker;

namespace Mlops.Host.Tests.Triggers;

/// <summary>
/// A stand-in for the worker process behind <see cref="IWorkerInvoker"/>: it holds functions built from binding JSON
/// the way the worker indexes them, records every invocation and answers with what the test's handler says.
/// </summary>
public sealed class FakeWorker : IWorkerInvoker
{
    private readonly List<HostedFunction> _functions = [];

    /// <summary>Every invocation received, in order, with the function it was for.</summary>
    public ConcurrentQueue<(HostedFunction Function, InvocationRequest Request)> Invocations { get; } = new();

    /// <summary>Decides each invocation's outcome: return null for success or an error message for failure.</summary>
    public Func<HostedFunction, InvocationRequest, string?> Handler { get; set; } = (_, _) => null;

    public IReadOnlyList<HostedFunction> Functions => _functions;

    public Task WaitUntilReadyAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<InvocationResponse> InvokeAsync(
        HostedFunction function,
        InvocationRequest request,
        CancellationToken cancellationToken = default
    )
    {
        Invocations.Enqueue((function, request));
        string? error = Handler(function, request);
        var result = new StatusResult
        {
            Status = error is null ? StatusResult.Types.Status.Success : StatusResult.Types.Status.Failure,
        };
        if (error is not null)
            result.Exception = new RpcException { Message = error };
        return Task.FromResult(new InvocationResponse { InvocationId = request.InvocationId, Result = result });
    }

    /// <summary>Adds a blobTrigger function bound to BlobClient (deferred binding), as the worker SDK describes
    /// one.</summary>
    public HostedFunction AddBlobTrigger(string name, string path, string connection = "AzureWebJobsStorage") =>
        Add(
            name,
            "blob",
            new JsonObject
            {
                ["name"] = "blob",
                ["direction"] = "In",
                ["type"] = "blobTrigger",
                ["path"] = path,
                ["source"] = "EventGrid",
                ["connection"] = connection,
                ["properties"] = new JsonObject { ["supportsDeferredBinding"] = "True" },
            },
            new Dictionary<string, string> { ["supportsDeferredBinding"] = "True" }
        );

    /// <summary>Adds a timerTrigger function.</summary>
    public HostedFunction AddTimer(string name, string schedule, bool? runOnStartup = null, bool? useMonitor = null)
    {
        var binding = new JsonObject
        {
            ["name"] = "timer",
            ["direction"] = "In",
            ["type"] = "timerTrigger",
            ["schedule"] = schedule,
            ["properties"] = new JsonObject(),
        };
        if (runOnStartup is { } r)
            binding["runOnStartup"] = r;
        if (useMonitor is { } m)
            binding["useMonitor"] = m;
        return Add(name, "timer", binding, []);
    }

    public HostedFunction Add(
        string name,
        string bindingName,
        JsonObject rawBinding,
        Dictionary<string, string> properties
    )
    {
        var metadata = new RpcFunctionMetadata
        {
            Name = name,
            FunctionId = Guid.NewGuid().ToString(),
            Language = "dotnet-isolated",
        };
        var info = new BindingInfo
        {
            Type = rawBinding["type"]!.GetValue<string>(),
            Direction = BindingInfo.Types.Direction.In,
        };
        foreach (var (k, v) in properties)
            info.Properties[k] = v;
        metadata.Bindings[bindingName] = info;
        metadata.RawBindings.Add(rawBinding.ToJsonString());
        var function = new HostedFunction(metadata.FunctionId, name, metadata);
        _functions.Add(function);
        return function;
    }

    /// <summary>Invocations of one function.</summary>
    public List<InvocationRequest> For(string functionName) =>
        Invocations.Where(i => i.Function.Name == functionName).Select(i => i.Request).ToList();

    /// <summary>The ModelBindingData content of a blob invocation's trigger parameter.</summary>
    public static JsonElement BlobBindingData(InvocationRequest request) =>
        JsonDocument.Parse(request.InputData[0].Data.ModelBindingData.Content.ToStringUtf8()).RootElement;
}

/// <summary>Starts trigger listeners against a storage account, the way the host's DI would, and stops them.</summary>
public sealed class TriggerHost : IAsyncDisposable
{
    private readonly List<Microsoft.Extensions.Hosting.BackgroundService> _services = [];

    public TriggerHost(
        FakeWorker worker,
        string connectionString,
        string hostId,
        Action<TriggerOptions>? configure = null,
        Dictionary<string, string>? settings = null,
        string hostJson = "{}"
    )
    {
        var context = new HostContext(
            AppContext.BaseDirectory,
            connectionString,
            hostId,
            JsonDocument.Parse(hostJson).RootElement
        );
        Options = new TriggerOptions
        {
            BlobScanInterval = TimeSpan.FromMilliseconds(200),
            QueuePollInterval = TimeSpan.FromMilliseconds(200),
            BlobMessageVisibility = TimeSpan.FromSeconds(30),
            Settings = name => settings?.GetValueOrDefault(name),
        };
        Options.ApplyHostJson(context.HostJson);
        configure?.Invoke(Options);
        Blobs = new BlobTriggerListener(worker, context, Options, NullLogger<BlobTriggerListener>.Instance);
        Timers = new TimerTriggerListener(worker, context, Options, NullLogger<TimerTriggerListener>.Instance);
        _services.Add(Blobs);
        _services.Add(Timers);
    }

    public TriggerOptions Options { get; }
    public BlobTriggerListener Blobs { get; }
    public TimerTriggerListener Timers { get; }

    public async Task StartAsync()
    {
        foreach (var s in _services)
            await s.StartAsync(CancellationToken.None);
        await Blobs.Started;
        await Timers.Started;
    }

    public async Task StopAsync()
    {
        foreach (var s in _services)
            await s.StopAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var s in _services)
            s.Dispose();
    }
}

/// <summary>Polling helpers for asynchronous outcomes.</summary>
public static class Eventually
{
    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> after <paramref
    /// name="timeout"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Async variant for conditions that read storage.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            await Task.Delay(100);
        }
    }
}
