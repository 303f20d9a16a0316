using System.Net;
using System.Text.Json;
using Grpc.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Xunit;

namespace Mlops.Host.Tests.Durable;

/// <summary>
/// Orchestrations of the test app run through the real worker and DTFx on Azurite: activities, failures, timers,
/// external events, sub-orchestrations, ContinueAsNew, and the management calls of the worker's client.
/// </summary>
[Collection(DurableHostCollection.Name)]
public sealed class DurableDispatchTests(DurableHostFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private DurableTaskClient Client => fixture.Client;

    [Fact]
    public async Task StartGreeting_HttpFunctionWithDurableClient_OrchestrationCompletesWithActivityOutputs()
    {
        // The HTTP function starts the orchestration through the worker's DurableClient binding.
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        var started = await http.PostAsync($"{Prefix()}greetings?name=Ada", null);
        Assert.True(
            started.StatusCode == HttpStatusCode.Accepted,
            $"{started.StatusCode}: {await started.Content.ReadAsStringAsync()}\n{LogTail()}"
        );
        string id = JsonDocument
            .Parse(await started.Content.ReadAsStringAsync())
            .RootElement.GetProperty("id")
            .GetString()!;

        var done = await WaitAsync(id);

        AssertCompleted(done);
        Assert.Equal("Hello Ada! Hello Ada2!", done.ReadOutputAs<string>());
        // And read back through the worker's client again, by the HTTP function that reads status.
        var read = JsonDocument.Parse(await http.GetStringAsync($"{Prefix()}greetings/{id}")).RootElement;
        Assert.Equal("Completed", read.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ChainOrchestrator_SequentialActivities_SumAndCustomStatusAndHistory()
    {
        string id = await StartAsync("ChainOrchestrator", new ChainInput(5, 0));

        var done = await WaitAsync(id);

        AssertCompleted(done);
        Assert.Equal(0 + 1 + 2 + 3 + 4, done.ReadOutputAs<int>());
        Assert.Equal(5, JsonDocument.Parse(done.SerializedCustomStatus!).RootElement.GetProperty("done").GetInt32());
        var history = await Client.GetOrchestrationHistoryAsync(id);
        Assert.Equal(5, history.OfType<global::DurableTask.Core.History.TaskScheduledEvent>().Count());
        Assert.Equal(5, history.OfType<global::DurableTask.Core.History.TaskCompletedEvent>().Count());
    }

    [Fact]
    public async Task CatchingOrchestrator_ActivityThrows_OrchestratorSeesTaskFailedWithTypeAndMessage()
    {
        string id = await StartAsync("CatchingOrchestrator", "job-7");

        var done = await WaitAsync(id);

        AssertCompleted(done);
        string? caught = done.ReadOutputAs<string>();
        Assert.True(caught == "System.InvalidOperationException|step failed for job-7", caught);
    }

    [Fact]
    public async Task ThrowingOrchestrator_OrchestratorThrows_InstanceFailedWithItsMessage()
    {
        string id = await StartAsync("ThrowingOrchestrator", null);

        var done = await WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        string failure = done.FailureDetails?.ErrorMessage ?? done.SerializedOutput ?? "";
        Assert.Contains("orchestrator gave up", failure);
    }

    [Fact]
    public async Task ApprovalOrchestrator_EventRaisedBeforeTimer_Approved()
    {
        string id = await StartAsync("ApprovalOrchestrator", 120);
        await Client.WaitForInstanceStartAsync(id, CancelAfter(Patience));

        await Client.RaiseEventAsync(id, "approval", "alice");

        var done = await WaitAsync(id);
        Assert.Equal("approved:alice", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task ApprovalOrchestrator_NoEvent_DurableTimerFires()
    {
        string id = await StartAsync("ApprovalOrchestrator", 2);

        var done = await WaitAsync(id);

        Assert.Equal("timeout", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task SuspendedInstance_EventWaitsUntilResume_ThenCompletes()
    {
        string id = await StartAsync("ApprovalOrchestrator", 120);
        await Client.WaitForInstanceStartAsync(id, CancelAfter(Patience));

        await Client.SuspendInstanceAsync(id, "hold");
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Suspended);
        await Client.RaiseEventAsync(id, "approval", "bob");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await Client.GetInstanceAsync(id))!.RuntimeStatus);

        await Client.ResumeInstanceAsync(id, "go");

        Assert.Equal("approved:bob", (await WaitAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task FanOutOrchestrator_ParallelActivitiesAndSubOrchestration_TotalOfAll()
    {
        string id = await StartAsync("FanOutOrchestrator", null);

        var done = await WaitAsync(id);

        AssertCompleted(done);
        Assert.Equal((1 + 2 + 3) + (0 + 1 + 2), done.ReadOutputAs<int>());
    }

    [Fact]
    public async Task CounterOrchestrator_ContinueAsNew_EndsWithFinalCounter()
    {
        string id = await StartAsync("CounterOrchestrator", 0);

        var done = await WaitAsync(id);

        AssertCompleted(done);
        Assert.Equal(3, done.ReadOutputAs<int>());
    }

    [Fact]
    public async Task ListOrchestrator_WorkerClientQueriesByPrefix_OnlyMatchingIds()
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        string[] expected = [$"runs-{run}-a", $"runs-{run}-b", $"runs-{run}-c"];
        foreach (string id in expected)
            await StartAsync("ChainOrchestrator", new ChainInput(1, 0), id);
        await StartAsync("ChainOrchestrator", new ChainInput(1, 0), $"other-{run}-a");

        // The activity's [DurableClient] binding queries inside the worker.
        string listId = await StartAsync("ListOrchestrator", $"runs-{run}-");
        var done = await WaitAsync(listId);
        AssertCompleted(done);
        Assert.Equal(expected, done.ReadOutputAs<string[]>());

        // The same query from outside, with a status filter and small pages.
        var completed = new List<string>();
        foreach (string id in expected)
            await WaitAsync(id);
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = $"runs-{run}-",
            Statuses = [OrchestrationRuntimeStatus.Completed],
            PageSize = 2,
        };
        await foreach (var instance in Client.GetAllInstancesAsync(query))
            completed.Add(instance.InstanceId);
        Assert.Equal(expected, completed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Terminate_RunningInstance_TerminatedThenPurgedOnly()
    {
        string id = await StartAsync("ApprovalOrchestrator", 120);
        await Client.WaitForInstanceStartAsync(id, CancelAfter(Patience));

        // A running instance is not purged (its state would vanish under it).
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => Client.PurgeInstanceAsync(id));
        Assert.Contains("finished", refused.Message);

        await Client.TerminateInstanceAsync(id, "stop");
        var done = await WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, done.RuntimeStatus);

        var purged = await Client.PurgeInstanceAsync(id);
        Assert.Equal(1, purged.PurgedInstanceCount);
        Assert.Null(await Client.GetInstanceAsync(id));
    }

    [Fact]
    public async Task Start_IdOfRunningInstance_RefusedAndRunningInstanceUntouched()
    {
        string id = "dup-" + Guid.NewGuid().ToString("N")[..8];
        await StartAsync("ApprovalOrchestrator", 120, id);
        await Client.WaitForInstanceStartAsync(id, CancelAfter(Patience));

        await Assert.ThrowsAnyAsync<Exception>(() => StartAsync("ApprovalOrchestrator", 120, id));

        await Client.RaiseEventAsync(id, "approval", "carol");
        Assert.Equal("approved:carol", (await WaitAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task RaiseEvent_UnknownInstance_NotFound()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() =>
            Client.RaiseEventAsync("nobody-" + Guid.NewGuid().ToString("N"), "approval", "x")
        );
        Assert.True(
            e is RpcException { StatusCode: StatusCode.NotFound }
                || e.InnerException is RpcException { StatusCode: StatusCode.NotFound }
                || e is ArgumentException or InvalidOperationException,
            e.ToString()
        );
    }

    [Fact]
    public async Task UnknownOrchestrator_Started_FailsNamingTheFunction()
    {
        string id = await StartAsync("NoSuchOrchestrator", null);

        var done = await WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Contains("NoSuchOrchestrator", done.FailureDetails?.ErrorMessage ?? done.SerializedOutput);
    }

    private string Prefix() => fixture.Host.RoutePrefix.Length == 0 ? "" : fixture.Host.RoutePrefix + "/";

    private Task<string> StartAsync(string name, object? input, string? id = null) =>
        Client.ScheduleNewOrchestrationInstanceAsync(
            name,
            input,
            id is null ? null : new StartOrchestrationOptions(id)
        );

    private async Task<OrchestrationMetadata> WaitAsync(string id)
    {
        try
        {
            return await Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, CancelAfter(Patience));
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(
                $"{id} did not finish within {Patience}: {(await Client.GetInstanceAsync(id))?.RuntimeStatus}\n{LogTail()}"
            );
        }
    }

    private string LogTail()
    {
        return string.Join('\n', fixture.Log.TakeLast(40));
    }

    private void AssertCompleted(OrchestrationMetadata done)
    {
        if (done.RuntimeStatus == OrchestrationRuntimeStatus.Completed)
            return;
        Assert.Fail(
            $"{done.InstanceId} is {done.RuntimeStatus}: {done.FailureDetails?.ErrorType}: {done.FailureDetails?.ErrorMessage} "
                + $"{done.SerializedOutput}\n{LogTail()}"
        );
    }

    private async Task WaitForStatusAsync(string id, OrchestrationRuntimeStatus status)
    {
        var deadline = DateTime.UtcNow + Patience;
        while ((await Client.GetInstanceAsync(id))?.RuntimeStatus != status)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{id} never became {status}.");
            await Task.Delay(100);
        }
    }

    private static CancellationToken CancelAfter(TimeSpan timeout) => new CancellationTokenSource(timeout).Token;
}

/// <summary>The test app's ChainOrchestrator input (same JSON shape).</summary>
public sealed record ChainInput(int Steps, int DelayMs);
