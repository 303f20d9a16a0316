using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Mlops.Pipelines.Launching;
using Mlops.Testing;
using Xunit;

namespace Mlops.Pipelines.Tests.Launching;

/// <summary>
/// The start policy of <see cref="OrchestrationStarts"/> on durabletask-dotnet's in-process host: what a second start
/// with the same id does when the first run is running, completed or failed.
/// </summary>
public sealed class OrchestrationStartsTests
{
    private static int _executions;

    /// <summary>Counts its executions; waits for an event (so it can be caught running), then succeeds or
    /// fails.</summary>
    internal sealed class Probe : TaskOrchestrator<string, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
        {
            if (!context.IsReplaying)
                Interlocked.Increment(ref _executions);
            await context.WaitForExternalEvent<bool>("go");
            return input == "fail" ? throw new InvalidOperationException("probe failed") : input;
        }
    }

    private static Task<DurableTaskTestHost> StartHostAsync() =>
        DurableTaskTestHost.StartAsync(
            r => r.AddOrchestrator<Probe>(),
            new DurableTaskTestHostOptions { Port = AzuriteInstance.FreePort() }
        );

    private static async Task<OrchestrationMetadata> FinishAsync(DurableTaskClient client, string id)
    {
        await client.RaiseEventAsync(id, "go", true);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await client.WaitForInstanceCompletionAsync(id, true, cts.Token);
    }

    [Theory]
    [InlineData("ok", OrchestrationRuntimeStatus.Completed)]
    [InlineData("fail", OrchestrationRuntimeStatus.Failed)]
    public async Task StartOnceAsync_SameIdWhileRunningAndAfterItEnded_OneExecution(
        string input,
        OrchestrationRuntimeStatus final
    )
    {
        await using var host = await StartHostAsync();
        string id = $"probe-{input}-{Guid.NewGuid():N}";
        Interlocked.Exchange(ref _executions, 0);

        Assert.Equal(id, await OrchestrationStarts.StartOnceAsync(host.Client, nameof(Probe), input, id));
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            await host.Client.WaitForInstanceStartAsync(id, cts.Token);
        Assert.Equal(id, await OrchestrationStarts.StartOnceAsync(host.Client, nameof(Probe), input, id)); // running: found

        var done = await FinishAsync(host.Client, id);
        Assert.Equal(final, done.RuntimeStatus);
        Assert.Equal(id, await OrchestrationStarts.StartOnceAsync(host.Client, nameof(Probe), input, id)); // ended: found, not re-run

        await Task.Delay(300); // a wrongly started second execution would have begun by now
        var after = await host.Client.GetInstanceAsync(id);
        Assert.Equal(final, after!.RuntimeStatus);
        Assert.Equal(1, Volatile.Read(ref _executions));
    }

    [Fact]
    public async Task StartOnceAsync_NewId_StartsWithTheInput()
    {
        await using var host = await StartHostAsync();
        string id = InstanceIds.ForManual("probe", "subject", DateTimeOffset.UtcNow);
        await OrchestrationStarts.StartOnceAsync(host.Client, nameof(Probe), "hello", id);
        var done = await FinishAsync(host.Client, id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("hello", done.ReadOutputAs<string>());
    }
}
