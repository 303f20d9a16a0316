using Microsoft.Extensions.Logging;

namespace Mlops.Durable.Tests;

/// <summary>A worker and client on a fresh task hub of a shared Azurite, with test-friendly timeouts.</summary>
internal sealed class DurableTestHost : IAsyncDisposable
{
    private static int counter;

    private DurableTestHost(DurableWorker worker, DurableClient client, DurableWorkerOptions options)
    {
        Worker = worker;
        Client = client;
        Options = options;
    }

    public DurableWorker Worker { get; }
    public DurableClient Client { get; }
    public DurableWorkerOptions Options { get; }

    public static string NewHub() => $"t{Environment.ProcessId % 10000}x{Interlocked.Increment(ref counter)}";

    public static async Task<DurableTestHost> StartAsync(string connectionString, Action<DurableRegistry> register,
        Action<DurableWorkerOptions>? configure = null, IServiceProvider? services = null, ILoggerFactory? loggerFactory = null)
    {
        var options = new DurableWorkerOptions
        {
            ConnectionString = connectionString,
            TaskHubName = NewHub(),
            LeaseDuration = TimeSpan.FromSeconds(3),
            VisibilityTimeout = TimeSpan.FromSeconds(5),
            MaxPollingInterval = TimeSpan.FromMilliseconds(500),
        };
        configure?.Invoke(options);
        var registry = new DurableRegistry();
        register(registry);
        var worker = new DurableWorker(options, registry, services, loggerFactory);
        await worker.StartAsync();
        return new DurableTestHost(worker, worker.CreateClient(), options);
    }

    public Task<OrchestrationStatus> RunAsync(string name, object? input = null, string? instanceId = null, int timeoutSeconds = 30) =>
        RunCoreAsync(name, input, instanceId, timeoutSeconds);

    private async Task<OrchestrationStatus> RunCoreAsync(string name, object? input, string? instanceId, int timeoutSeconds)
    {
        string id = await Client.StartNewAsync(name, input, instanceId);
        return await Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(timeoutSeconds));
    }

    public async ValueTask DisposeAsync() => await Worker.StopAsync();
}
