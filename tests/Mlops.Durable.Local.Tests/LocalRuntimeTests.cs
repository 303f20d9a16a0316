using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mlops.Durable.Local.TestWorker;
using Mlops.Testing;
using Xunit;

namespace Mlops.Durable.Local.Tests;

/// <summary>One in-process worker + client on a private Azurite: the durable features the pipeline relies on.</summary>
public sealed class LocalRuntimeFixture : IAsyncLifetime
{
    public AzuriteInstance Azurite { get; private set; } = null!;
    public IHost Host { get; private set; } = null!;
    public DurableTaskClient Client => Host.Services.GetRequiredService<DurableTaskClient>();

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("MLOPS_TEST_LOGS") == "1")
            builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddLocalDurableTask(
            TaskHubStorage.FromConnectionString(Azurite.ConnectionString),
            new LocalDurableOptions { TaskHubName = "runtimetests" },
            registry => registry.AddTestTasks(Azurite.ConnectionString)
        );
        Host = builder.Build();
        await Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
        await Azurite.DisposeAsync();
    }
}

public sealed class LocalRuntimeTests(LocalRuntimeFixture fixture) : IClassFixture<LocalRuntimeFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<OrchestrationMetadata> RunAsync(string name, object input, string? id = null)
    {
        id = await fixture.Client.ScheduleNewOrchestrationInstanceAsync(
            name,
            input,
            new Microsoft.DurableTask.StartOrchestrationOptions(id)
        );
        using var cts = new CancellationTokenSource(Timeout);
        return await fixture.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    [Fact]
    public async Task Chain_RunsEveryStepInOrder_WithCustomStatus()
    {
        var done = await RunAsync("Chain", new ChainInput(5));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(0 + 1 + 2 + 3 + 4, done.ReadOutputAs<int>());
        Assert.Contains("\"done\":5", done.SerializedCustomStatus);
    }

    [Fact]
    public async Task FanOut_SubOrchestration_ContinueAsNew_AndRetries_Complete()
    {
        Assert.Equal(Enumerable.Range(1, 20).Sum(i => i * i), (await RunAsync("FanOut", 20)).ReadOutputAs<int>());
        Assert.Equal(Enumerable.Range(1, 4).Sum(i => i * i) + 1, (await RunAsync("Parent", 4)).ReadOutputAs<int>());
        Assert.Equal(3, (await RunAsync("Counter", 0)).ReadOutputAs<int>());
        Assert.Equal(3, (await RunAsync("Retry", 0)).ReadOutputAs<int>()); // two planned failures, then success
    }

    [Fact]
    public async Task ExternalEvent_Approves_AndItsTimerTimesOut()
    {
        string id = await fixture.Client.ScheduleNewOrchestrationInstanceAsync("Approval", 60);
        await fixture.Client.WaitForInstanceStartAsync(id);
        await fixture.Client.RaiseEventAsync(id, "approve", "alice");
        using var cts = new CancellationTokenSource(Timeout);
        var approved = await fixture.Client.WaitForInstanceCompletionAsync(id, true, cts.Token);
        Assert.Equal("approved by alice", approved.ReadOutputAs<string>());

        Assert.Equal("timed out", (await RunAsync("Approval", 1)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task Management_SuspendResumeTerminatePurgeRestart_BehaveAsDurableFunctions()
    {
        var client = fixture.Client;
        string id = await client.ScheduleNewOrchestrationInstanceAsync("Approval", 300);
        await client.WaitForInstanceStartAsync(id);
        await client.SuspendInstanceAsync(id, "maintenance");
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Suspended);
        await client.ResumeInstanceAsync(id, "back");
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);
        await client.TerminateInstanceAsync(id, "no longer needed");
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Terminated);

        // A second start under a finished id is a new execution (restart); a running id cannot be started twice.
        string again = await client.RestartAsync(id);
        Assert.Equal(id, again);
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            client.ScheduleNewOrchestrationInstanceAsync(
                "Approval",
                300,
                new Microsoft.DurableTask.StartOrchestrationOptions(id)
            )
        );
        await client.TerminateInstanceAsync(id);
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Terminated);

        var history = await client.GetOrchestrationHistoryAsync(id);
        Assert.Contains(history, e => e is DurableTask.Core.History.ExecutionStartedEvent);
        Assert.Equal(1, (await client.PurgeInstanceAsync(id)).PurgedInstanceCount);
        Assert.Null(await client.GetInstanceAsync(id));
    }

    [Fact]
    public async Task PendingInstance_CanBeStartedAgain_SoALostStartMessageDoesNotStrandIt()
    {
        // A start whose message will not be processed for an hour stands in for one whose message was lost: the
        // instance row says Pending. Starting it again under the same id must run it now, not refuse.
        string id = await fixture.Client.ScheduleNewOrchestrationInstanceAsync(
            "FanOut",
            3,
            new Microsoft.DurableTask.StartOrchestrationOptions("pending-restart")
            {
                StartAt = DateTimeOffset.UtcNow.AddHours(1),
            }
        );
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await fixture.Client.GetInstanceAsync(id))!.RuntimeStatus);
        var done = await RunAsync("FanOut", 3, id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(1 + 4 + 9, done.ReadOutputAs<int>());
    }

    [Fact]
    public async Task UnknownInstance_IsNull_AndUnknownOrchestrator_FailsInsteadOfRetrying()
    {
        Assert.Null(await fixture.Client.GetInstanceAsync("no-such-instance"));
        var failed = await RunAsync("NoSuchOrchestrator", 1);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.NotNull(failed.FailureDetails);
    }

    [Fact]
    public async Task Query_FindsInstancesByPrefixAndStatus()
    {
        await RunAsync("FanOut", 2, "query-a-1");
        await RunAsync("FanOut", 2, "query-a-2");
        var found = new List<string>();
        await foreach (
            var m in fixture.Client.GetAllInstancesAsync(
                new OrchestrationQuery
                {
                    InstanceIdPrefix = "query-a-",
                    Statuses = [OrchestrationRuntimeStatus.Completed],
                }
            )
        )
            found.Add(m.InstanceId);
        Assert.Equal(["query-a-1", "query-a-2"], found.Order());
    }

    private async Task WaitForStatusAsync(string id, OrchestrationRuntimeStatus expected)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if ((await fixture.Client.GetInstanceAsync(id))?.RuntimeStatus == expected)
                return;
            await Task.Delay(100);
        }
        Assert.Fail(
            $"{id} never became {expected}; it is {(await fixture.Client.GetInstanceAsync(id))?.RuntimeStatus}."
        );
    }
}
