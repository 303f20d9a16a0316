using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.WindowsAzure.Storage;
using Mlops.Core.Errors;

namespace Mlops.Durable.Tests;

public sealed class ManagementTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static void Register(DurableRegistry r) => r
        .AddOrchestrator("WaitGo", async ctx =>
        {
            ctx.SetCustomStatus("waiting");
            string go = await ctx.WaitForExternalEvent<string>("go");
            return await ctx.CallActivityAsync<string>("Upper", go);
        })
        .AddOrchestrator("Quick", async ctx => await ctx.CallActivityAsync<string>("Upper", ctx.GetInput<string>()))
        .AddActivity("Upper", ctx => Task.FromResult<object?>(ctx.GetInput<string>()?.ToUpperInvariant()));

    private Task<DurableTestHost> Host() => DurableTestHost.StartAsync(azurite.ConnectionString, Register);

    private static Task WaitStatus(DurableClient c, string id, OrchestrationRuntimeStatus s) =>
        OrchestrationTests.WaitForAsync(async () => (await c.GetStatusAsync(id))?.RuntimeStatus == s);

    [Fact]
    public async Task Terminate_stops_a_waiting_instance_with_the_reason_as_output()
    {
        await using var host = await Host();
        string id = await host.Client.StartNewAsync("WaitGo");
        await WaitStatus(host.Client, id, OrchestrationRuntimeStatus.Running);

        await host.Client.TerminateAsync(id, "no longer needed");
        var status = await host.Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(20));

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, status.RuntimeStatus);
        Assert.Equal("no longer needed", status.ReadOutputAs<string>());
        await Assert.ThrowsAsync<OrchestrationStateException>(() => host.Client.RaiseEventAsync(id, "go", "late"));
    }

    [Fact]
    public async Task Suspend_holds_events_until_resume()
    {
        await using var host = await Host();
        string id = await host.Client.StartNewAsync("WaitGo");
        await WaitStatus(host.Client, id, OrchestrationRuntimeStatus.Running);

        await host.Client.SuspendAsync(id, "maintenance");
        await WaitStatus(host.Client, id, OrchestrationRuntimeStatus.Suspended);
        await host.Client.RaiseEventAsync(id, "go", "abc");
        await Task.Delay(800);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await host.Client.GetStatusAsync(id))!.RuntimeStatus);

        await host.Client.ResumeAsync(id);
        var status = await host.Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal("ABC", status.ShouldBeCompleted().ReadOutputAs<string>());
    }

    [Fact]
    public async Task Purge_restart_and_duplicate_start_follow_instance_state()
    {
        await using var host = await Host();
        string id = await host.Client.StartNewAsync("WaitGo", instanceId: "mgmt-1");
        await Assert.ThrowsAsync<OrchestrationStateException>(() => host.Client.StartNewAsync("WaitGo", instanceId: "mgmt-1"));
        await Assert.ThrowsAsync<OrchestrationStateException>(() => host.Client.PurgeAsync(id));
        await host.Client.RaiseEventAsync(id, "go", "x");
        (await host.Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(20))).ShouldBeCompleted();

        string again = await host.Client.StartNewAsync("Quick", "y", instanceId: "mgmt-1");   // reuse a finished id
        var second = (await host.Client.WaitForCompletionAsync(again, TimeSpan.FromSeconds(20))).ShouldBeCompleted();
        Assert.Equal(1, second.Execution);
        await host.Client.RestartAsync(id);
        var third = (await host.Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(20))).ShouldBeCompleted();
        Assert.Equal(2, third.Execution);
        Assert.Equal("Y", third.ReadOutputAs<string>());

        Assert.True(await host.Client.PurgeAsync(id));
        Assert.Null(await host.Client.GetStatusAsync(id));
        Assert.False(await host.Client.PurgeAsync(id));
        await Assert.ThrowsAsync<NotFoundException>(() => host.Client.RaiseEventAsync(id, "go"));
    }

    [Fact]
    public async Task Status_includes_history_and_query_filters_by_status_time_and_name()
    {
        await using var host = await Host();
        var before = DateTime.UtcNow.AddSeconds(-1);
        string done = await host.Client.StartNewAsync("Quick", "q", instanceId: "qry-done");
        string waiting = await host.Client.StartNewAsync("WaitGo", instanceId: "qry-wait");
        await host.Client.WaitForCompletionAsync(done, TimeSpan.FromSeconds(20));
        await WaitStatus(host.Client, waiting, OrchestrationRuntimeStatus.Running);

        var status = await host.Client.GetStatusAsync(done, includeHistory: true);
        Assert.Equal([HistoryEventType.OrchestratorStarted, HistoryEventType.ExecutionStarted, HistoryEventType.TaskScheduled,
                      HistoryEventType.OrchestratorStarted, HistoryEventType.TaskCompleted, HistoryEventType.ExecutionCompleted],
                     status!.History!.Select(e => e.Type));

        var running = await host.Client.QueryAsync(new OrchestrationQuery { Statuses = [OrchestrationRuntimeStatus.Running], CreatedFrom = before });
        Assert.Equal(["qry-wait"], running.Select(s => s.InstanceId));
        var quick = await host.Client.QueryAsync(new OrchestrationQuery { NamePrefix = "Qui", CreatedFrom = before });
        Assert.Equal(["qry-done"], quick.Select(s => s.InstanceId));
        var none = await host.Client.QueryAsync(new OrchestrationQuery { CreatedTo = before });
        Assert.Empty(none);
        Assert.Single(await host.Client.QueryAsync(new OrchestrationQuery { Top = 1 }));
        Assert.Equal(2, (await host.Client.QueryAsync(new OrchestrationQuery { InstanceIdPrefix = "qry-" })).Count);
    }

    [Fact]
    public void Options_are_validated_up_front()
    {
        Assert.Throws<ArgumentException>(() => new DurableWorkerOptions { TaskHubName = "Bad-Name" }.Validate());
        Assert.Throws<ArgumentException>(() => new DurableWorkerOptions { PartitionCount = 17 }.Validate());
        Assert.Throws<ArgumentException>(() => new DurableWorkerOptions { BatchSize = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new DurableWorkerOptions { ConnectionString = "nonsense" }.Validate());
        Assert.Throws<ArgumentException>(() => new RetryPolicy(0, TimeSpan.FromSeconds(1)).Validate());
        Assert.Equal(5, new DurableWorkerOptions().MaxDequeueCount);
        Assert.Equal(4, new DurableWorkerOptions().PartitionCount);
        Assert.Throws<ArgumentException>(() => new DurableRegistry().AddActivity("a", _ => Task.FromResult<object?>(null)).AddActivity("a", _ => Task.FromResult<object?>(null)));
    }

    [Fact]
    public async Task Http_endpoints_manage_instances_and_reject_bad_input_with_4xx()
    {
        await using var host = await Host();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();
        app.MapDurableManagement(client: host.Client);
        await app.StartAsync();
        var http = app.GetTestClient();

        // start → 202 + Location; status 202 while running
        var start = await http.PostAsync("/api/orchestrations/WaitGo?instanceId=http-1", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        Assert.EndsWith("/api/orchestrations/http-1", start.Headers.Location!.ToString());
        await WaitStatus(host.Client, "http-1", OrchestrationRuntimeStatus.Running);
        Assert.Equal(HttpStatusCode.Accepted, (await http.GetAsync("/api/orchestrations/http-1")).StatusCode);

        // query
        var list = await http.GetFromJsonAsync<JsonElement>("/api/orchestrations?status=Running&top=10");
        Assert.Contains(list.GetProperty("instances").EnumerateArray(), e => e.GetProperty("instanceId").GetString() == "http-1");

        // suspend / resume / event → 200 with output
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/orchestrations/http-1/suspend", null)).StatusCode);
        await WaitStatus(host.Client, "http-1", OrchestrationRuntimeStatus.Suspended);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/orchestrations/http-1/resume", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/orchestrations/http-1/events/go", JsonContent.Create("hi"))).StatusCode);
        await host.Client.WaitForCompletionAsync("http-1", TimeSpan.FromSeconds(20));
        var done = await http.GetAsync("/api/orchestrations/http-1?history=true");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var body = await done.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("HI", body.GetProperty("output").GetString()); // output is embedded JSON, not JSON text in a string
        Assert.True(body.GetProperty("history").GetArrayLength() > 3);

        // restart, terminate, purge
        var restart = await http.PostAsync("/api/orchestrations/http-1/restart", null);
        Assert.Equal(HttpStatusCode.Accepted, restart.StatusCode);
        await WaitStatus(host.Client, "http-1", OrchestrationRuntimeStatus.Running);
        Assert.Equal(HttpStatusCode.Conflict, (await http.DeleteAsync("/api/orchestrations/http-1")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/orchestrations/http-1/terminate?reason=stop", null)).StatusCode);
        await host.Client.WaitForCompletionAsync("http-1", TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync("/api/orchestrations/http-1")).StatusCode);

        // bad input → 4xx JSON error, never 500
        async Task Expect(HttpResponseMessage r, HttpStatusCode code)
        {
            Assert.Equal(code, r.StatusCode);
            var err = await r.Content.ReadFromJsonAsync<JsonElement>();
            Assert.False(string.IsNullOrEmpty(err.GetProperty("error").GetProperty("message").GetString()));
        }
        await Expect(await http.GetAsync("/api/orchestrations/http-1"), HttpStatusCode.NotFound);
        await Expect(await http.DeleteAsync("/api/orchestrations/nope"), HttpStatusCode.NotFound);
        await Expect(await http.PostAsync("/api/orchestrations/nope/events/go", null), HttpStatusCode.NotFound);
        await Expect(await http.PostAsync("/api/orchestrations/nope/terminate", null), HttpStatusCode.NotFound);
        await Expect(await http.PostAsync("/api/orchestrations/Quick", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await Expect(await http.PostAsync("/api/orchestrations/Quick?instanceId=a%20b", null), HttpStatusCode.BadRequest);
        await Expect(await http.GetAsync("/api/orchestrations?status=Sleeping"), HttpStatusCode.BadRequest);
        await Expect(await http.GetAsync("/api/orchestrations?top=0"), HttpStatusCode.BadRequest);
        await Expect(await http.PostAsync("/api/orchestrations/http-1/explode", null), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/orchestrations?from=notadate")).StatusCode);
    }
}
