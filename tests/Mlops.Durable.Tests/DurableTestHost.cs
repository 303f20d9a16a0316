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

internal static class StatusAssertions
{
    /// <summary>Asserts Completed, showing the failure details otherwise.</summary>
    public static OrchestrationStatus ShouldBeCompleted(this OrchestrationStatus status)
    {
        Assert.True(status.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
            $"{status.InstanceId} is {status.RuntimeStatus}: {status.FailureDetails} {status.FailureDetails?.InnerFailure} {status.FailureDetails?.StackTrace}");
        return status;
    }
}

internal static class StatusAssertions2
{
    /// <summary>Fails fast with details when an instance failed for a reason other than the test's intent.</summary>
    public static OrchestrationStatus ShouldBeCompletedOrFailed(this OrchestrationStatus status)
    {
        if (status.FailureDetails?.ErrorType is { } t && t.StartsWith("Mlops.Durable.Poison", StringComparison.Ordinal))
            Assert.Fail($"{status.InstanceId} poisoned: {status.FailureDetails}");
        if (status.RuntimeStatus == OrchestrationRuntimeStatus.Failed && status.FailureDetails?.ErrorType == "System.InvalidOperationException")
            Assert.Fail($"{status.InstanceId} failed: {status.FailureDetails} {status.FailureDetails.StackTrace}");
        return status;
    }
}
