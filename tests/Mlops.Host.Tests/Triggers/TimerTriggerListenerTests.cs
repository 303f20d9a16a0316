using System.Text.Json;
using Azure.Storage.Blobs;
using Mlops.Host.Triggers;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests.Triggers;

/// <summary>The timer listener on a private Azurite, with a fake worker recording each firing.</summary>
public class TimerTriggerListenerTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static string NewId() => $"host{Guid.NewGuid():N}"[..20];

    private static bool IsPastDue(Protocol.InvocationRequest request) =>
        JsonDocument.Parse(request.InputData[0].Data.Json).RootElement.GetProperty("IsPastDue").GetBoolean();

    private ScheduleStatusStore Store(string hostId) =>
        new(
            new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(BlobTriggerListener.HostsContainer),
            hostId
        );

    [Fact]
    public async Task Timer_FromSetting_FiresOnItsSchedule()
    {
        var worker = new FakeWorker();
        worker.AddTimer("Tick", "%TICK_SCHEDULE%");
        await using var host = new TriggerHost(
            worker,
            azurite.ConnectionString,
            NewId(),
            settings: new Dictionary<string, string> { ["TICK_SCHEDULE"] = "*/1 * * * * *" }
        );
        await host.StartAsync();

        await Eventually.TrueAsync(() => worker.For("Tick").Count >= 3, Wait, "three ticks of a one-second schedule");

        Assert.All(worker.For("Tick"), r => Assert.False(IsPastDue(r)));
        // The sub-minute schedule keeps no status (as the real host): TimerInfo.ScheduleStatus is null.
        Assert.All(worker.For("Tick"), r =>
            Assert.Equal(
                JsonValueKind.Null,
                JsonDocument.Parse(r.InputData[0].Data.Json).RootElement.GetProperty("ScheduleStatus").ValueKind
            )
        );
    }

    [Fact]
    public async Task DisabledSwitch_KeepsTheTimerOff()
    {
        var worker = new FakeWorker();
        worker.AddTimer("Retrain", "*/1 * * * * *");
        worker.AddTimer("Monitor", "*/1 * * * * *");
        await using var host = new TriggerHost(
            worker,
            azurite.ConnectionString,
            NewId(),
            settings: new Dictionary<string, string> { ["AzureWebJobs.Retrain.Disabled"] = "1" }
        );
        await host.StartAsync();

        await Eventually.TrueAsync(() => worker.For("Monitor").Count >= 3, Wait, "the enabled timer ticking");

        Assert.Empty(worker.For("Retrain"));
        Assert.Empty(host.Timers.FunctionErrors);
    }

    [Fact]
    public async Task InvalidSchedule_ErrorNamesFunctionAndSetting_OtherTimersRun()
    {
        var worker = new FakeWorker();
        worker.AddTimer("Broken", "%RETRAIN_SCHEDULE%");
        worker.AddTimer("Fine", "*/1 * * * * *");
        await using var host = new TriggerHost(
            worker,
            azurite.ConnectionString,
            NewId(),
            settings: new Dictionary<string, string> { ["RETRAIN_SCHEDULE"] = "every monday" }
        );
        await host.StartAsync();

        await Eventually.TrueAsync(() => worker.For("Fine").Count >= 2, Wait, "the valid timer ticking");

        string error = host.Timers.FunctionErrors["Broken"];
        Assert.Contains("'Broken'", error);
        Assert.Contains("%RETRAIN_SCHEDULE%", error);
        Assert.Contains("'every monday' was not recognized", error);
        Assert.Empty(worker.For("Broken"));
    }

    [Fact]
    public async Task PastDue_StoredNextHasPassed_FiresOnceWithIsPastDue()
    {
        string hostId = NewId();
        var schedule = TimerSchedule.Parse("0 0 * * * *"); // hourly: status is kept, and no regular tick during the test
        var last = schedule.GetNextOccurrence(DateTime.Now.AddHours(-4));
        await Store(hostId)
            .SetAsync("Host.Functions.Hourly", new ScheduleStatus(last, schedule.GetNextOccurrence(last), last));
        var worker = new FakeWorker();
        worker.AddTimer("Hourly", "0 0 * * * *");
        await using var host = new TriggerHost(worker, azurite.ConnectionString, hostId);
        await host.StartAsync();

        await Eventually.TrueAsync(() => worker.For("Hourly").Count >= 1, Wait, "the catch-up run");
        await Task.Delay(1500);

        var run = Assert.Single(worker.For("Hourly"));
        Assert.True(IsPastDue(run));
        var stored = await Store(hostId).GetAsync("Host.Functions.Hourly");
        Assert.True(stored!.Next > DateTime.Now, "the stored Next moved to the future");
        Assert.True(stored.Last > last, "the stored Last is the catch-up run");
    }

    [Fact]
    public async Task Restart_WithStoredNextAhead_DoesNotFireAgain()
    {
        string hostId = NewId();
        var worker = new FakeWorker();
        worker.AddTimer("Hourly", "0 0 * * * *");
        await using (var first = new TriggerHost(worker, azurite.ConnectionString, hostId))
        {
            await first.StartAsync();
            await Eventually.TrueAsync(
                async () => await Store(hostId).GetAsync("Host.Functions.Hourly") is not null,
                Wait,
                "a stored status"
            );
        }
        await using var second = new TriggerHost(worker, azurite.ConnectionString, hostId);
        await second.StartAsync();
        await Task.Delay(1500);

        Assert.Empty(worker.For("Hourly"));
    }

    [Fact]
    public async Task RunOnStartup_FiresOnceAtStartWithoutPastDue()
    {
        var worker = new FakeWorker();
        worker.AddTimer("Warm", "0 0 * * * *", runOnStartup: true);
        await using var host = new TriggerHost(worker, azurite.ConnectionString, NewId());
        await host.StartAsync();

        await Eventually.TrueAsync(() => worker.For("Warm").Count >= 1, Wait, "the start-up run");
        await Task.Delay(1000);

        Assert.False(IsPastDue(Assert.Single(worker.For("Warm"))));
    }

    [Fact]
    public async Task TwoHosts_OnlyTheLockHolderFires()
    {
        string hostId = NewId();
        var workerA = new FakeWorker();
        workerA.AddTimer("Tick", "*/1 * * * * *");
        var workerB = new FakeWorker();
        workerB.AddTimer("Tick", "*/1 * * * * *");
        await using var hostA = new TriggerHost(workerA, azurite.ConnectionString, hostId);
        await hostA.StartAsync();
        await Eventually.TrueAsync(() => workerA.For("Tick").Count >= 1, Wait, "host A ticking");
        await using var hostB = new TriggerHost(workerB, azurite.ConnectionString, hostId);
        await hostB.StartAsync();

        await Task.Delay(3000);

        Assert.True(workerA.For("Tick").Count >= 3);
        Assert.Empty(workerB.For("Tick"));
    }

    [Fact]
    public async Task FailingRun_TheScheduleGoesOn()
    {
        var worker = new FakeWorker { Handler = (_, _) => "boom" };
        worker.AddTimer("Tick", "*/1 * * * * *");
        await using var host = new TriggerHost(worker, azurite.ConnectionString, NewId());
        await host.StartAsync();

        await Eventually.TrueAsync(() => worker.For("Tick").Count >= 3, Wait, "ticks after failures");
    }
}
