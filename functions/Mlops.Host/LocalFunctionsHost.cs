using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Mlops.Host.Durable;
using Mlops.Host.Hosting;
using Mlops.Host.Http;
using Mlops.Host.Triggers;
using Mlops.Host.Worker;
using Yarp.ReverseProxy.Forwarder;

namespace Mlops.Host;

/// <summary>
/// The local Functions host as a library: the same composition <c>Program</c> runs, for tests and benchmarks. Starts
/// the worker (and waits for its functions), the HTTP front on 127.0.0.1, and the Durable and trigger services.
/// </summary>
public sealed class LocalFunctionsHost : IAsyncDisposable
{
    /// <summary>The host version sent in WorkerInitRequest: the real host's version this host follows, marked as
    /// ours.</summary>
    public const string HostVersion = "4.1037.0";

    /// <summary>The route prefix when host.json sets none (extensions.http.routePrefix).</summary>
    public const string DefaultRoutePrefix = "api";

    private readonly WebApplication _front;
    private readonly HttpFront _http;
    private int _disposed;

    private LocalFunctionsHost(
        WebApplication front,
        HttpFront http,
        WorkerHost worker,
        HostKeys keys,
        HostContext context,
        int port,
        string routePrefix
    )
    {
        _front = front;
        _http = http;
        Worker = worker;
        Keys = keys;
        Context = context;
        Port = port;
        RoutePrefix = routePrefix;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>The HTTP front's address, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The HTTP front's port.</summary>
    public int Port { get; }

    /// <summary>The route prefix from host.json ("" when the app routes from the root).</summary>
    public string RoutePrefix { get; }

    /// <summary>The default host function key.</summary>
    public string FunctionKey => Keys.DefaultFunctionKey;

    /// <summary>The master key.</summary>
    public string MasterKey => Keys.MasterKey;

    /// <summary>The key store (host keys and per-function keys).</summary>
    public HostKeys Keys { get; }

    /// <summary>What the host knows about itself and the app.</summary>
    public HostContext Context { get; }

    /// <summary>The worker supervisor and invoker (start time, restarts, the worker's own HttpUri).</summary>
    public WorkerHost Worker { get; }

    /// <summary>The host's services (Durable and trigger services live here).</summary>
    public IServiceProvider Services => _front.Services;

    /// <summary>Every function the worker indexed, ordered by name.</summary>
    public IReadOnlyList<HostedFunction> Functions => Worker.Functions;

    /// <summary>SIGKILLs the worker (chaos tests); the host restarts it.</summary>
    public Task KillWorkerAsync() => Worker.KillWorkerAsync();

    /// <summary>The Mlops.Functions build output next to this host's build (written into the assembly by the
    /// csproj).</summary>
    public static string? DefaultAppDirectory() =>
        typeof(LocalFunctionsHost)
            .Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "MlopsFunctionsAppDirectory")
            ?.Value
            is { } dir
            ? Path.GetFullPath(dir)
            : null;

    /// <summary>Starts a host. Throws <see cref="PortInUseException"/> when the HTTP port is taken.</summary>
    public static async Task<LocalFunctionsHost> StartAsync(
        LocalHostOptions options,
        CancellationToken cancellationToken = default
    )
    {
        var log = new HostLog(options.Log ?? Console.WriteLine);
        string appDirectory = Path.GetFullPath(
            options.AppDirectory
                ?? DefaultAppDirectory()
                ?? throw new InvalidOperationException(
                    "No app directory: pass --app DIR (the isolated worker's build output)."
                )
        );
        if (string.IsNullOrWhiteSpace(options.StorageConnectionString))
            throw new InvalidOperationException("AzureWebJobsStorage (StorageConnectionString) is required.");
        var app = WorkerAppConfig.Read(appDirectory);
        var hostJson = ReadHostJson(appDirectory);
        var context = new HostContext(appDirectory, options.StorageConnectionString, options.HostId, hostJson);
        string routePrefix = RoutePrefixOf(hostJson);

        if (options.HttpPort != 0)
            EnsureHttpPortFree(options.HttpPort);
        var keys = await HostKeys.LoadOrCreateAsync(
            new BlobServiceClient(options.StorageConnectionString),
            options.HostId,
            options.FunctionKey,
            options.MasterKey,
            log,
            cancellationToken
        );

        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated",
            ["FUNCTIONS_WORKER_DIRECTORY"] = appDirectory,
            ["FUNCTIONS_APPLICATION_DIRECTORY"] = appDirectory,
            ["AzureWebJobsScriptRoot"] = appDirectory,
            ["AzureWebJobsStorage"] = options.StorageConnectionString,
        };
        // As `func start` does: the app's local.settings.json values (e.g. the retraining timer switched off), then
        // what the caller gives.
        foreach (var (name, value) in LocalSettingsFile.Read(appDirectory))
            environment[name] = value;
        foreach (var (name, value) in options.WorkerEnvironment)
            environment[name] = value;
        var worker = new WorkerHost(
            app,
            environment,
            log,
            options.WorkerStartTimeout,
            WorkerLogFilter.FromHostJson(hostJson)
        );

        var builder = WebApplication.CreateBuilder(
            new WebApplicationOptions { ContentRootPath = appDirectory, Args = [] }
        );
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new HostLogLoggerProvider(log));
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error); // an address-in-use is reported once, by us
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            HostRequestLimits.Apply(k.Limits); // the body limit as Azure's host; line and header limits answered by HttpFront
            k.Listen(IPAddress.Loopback, options.HttpPort);
        });
        // Signals belong to Program (or the test): the library host never stops itself on Ctrl-C.
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        builder.Services.AddRouting();
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton(context);
        builder.Services.AddSingleton(log);
        builder.Services.AddSingleton(keys);
        builder.Services.AddSingleton(worker);
        builder.Services.AddSingleton<IWorkerInvoker>(worker);
        builder.Services.AddDurableDispatch(context);
        // Triggers resolve %SETTING% and the Disabled switches against the settings the worker is given.
        builder.Services.AddFunctionTriggers(context, triggers =>
            triggers.Settings = name =>
                environment.TryGetValue(name, out var value) ? value : Environment.GetEnvironmentVariable(name)
        );
        var front = builder.Build();
        worker.UseInputBindingProviders(front.Services.GetServices<IInputBindingProvider>());

        try
        {
            await worker.StartAsync(cancellationToken);
            var routes = new HttpRouteTable(
                worker.Functions,
                routePrefix,
                front.Services.GetRequiredService<IInlineConstraintResolver>()
            );
            var http = new HttpFront(worker, routes, keys, front.Services.GetRequiredService<IHttpForwarder>(), log);
            front.Run(http.HandleAsync);
            try
            {
                await front.StartAsync(cancellationToken);
            }
            catch (IOException e)
                when (e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
                    || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
                )
            {
                throw new PortInUseException(
                    $"Port {options.HttpPort} is already in use. Stop the program using it or set MLOPS_HTTP_PORT to another port."
                );
            }
            string address = front
                .Services.GetRequiredService<IServer>()
                .Features.Get<IServerAddressesFeature>()!
                .Addresses.First();
            int port = new Uri(address).Port;
            return new LocalFunctionsHost(front, http, worker, keys, context, port, routePrefix);
        }
        catch
        {
            await worker.StopAsync();
            await front.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops accepting requests, terminates the worker, stops the Durable and trigger services.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Worker.BeginStop();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _front.StopAsync(cts.Token);
        }
        catch (OperationCanceledException) { }
        await Worker.StopAsync();
        await _front.DisposeAsync();
        _http.Dispose();
    }

    private static JsonElement ReadHostJson(string appDirectory)
    {
        string path = Path.Combine(appDirectory, "host.json");
        if (!File.Exists(path))
            return JsonDocument.Parse("{}").RootElement.Clone();
        try
        {
            using var doc = JsonDocument.Parse(
                File.ReadAllText(path),
                new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }
            );
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{path} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>extensions.http.routePrefix from host.json; "api" when absent (the host's HttpOptions
    /// default).</summary>
    public static string RoutePrefixOf(JsonElement hostJson) =>
        hostJson.ValueKind == JsonValueKind.Object
        && hostJson.TryGetProperty("extensions", out var extensions)
        && extensions.ValueKind == JsonValueKind.Object
        && extensions.TryGetProperty("http", out var http)
        && http.ValueKind == JsonValueKind.Object
        && http.TryGetProperty("routePrefix", out var prefix)
        && prefix.ValueKind == JsonValueKind.String
            ? prefix.GetString()!.Trim('/')
            : DefaultRoutePrefix;

    /// <summary>Throws <see cref="PortInUseException"/> when something listens on the host's HTTP port.</summary>
    public static void EnsureHttpPortFree(int port)
    {
        if (Hosting.LocalAzurite.IsListening(port))
            throw new PortInUseException(
                $"Port {port} is already in use. Stop the program using it or set MLOPS_HTTP_PORT to another port."
            );
    }

    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>The HTTP port (or an emulator port) is taken by another program.</summary>
public sealed class PortInUseException(string message) : Exception(message);
