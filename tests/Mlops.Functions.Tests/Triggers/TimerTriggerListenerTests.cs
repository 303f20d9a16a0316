using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Core.Storage;
using Mlops.Functions.Triggers;
using Mlops.Pipelines.Scheduling;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Functions.Tests.Triggers;

public sealed class TimerTriggerListenerTests
{
    private static StorageServices NewStorage() => new(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore());

    [Fact]
    public async Task CheckOnce_TwoProcessesEverySecond_EachTickRunsExactlyOnce()
    {
        var storage = NewStorage();
        var timers = new TimerRegistry();
        timers.Set("t", CronSchedule.Parse("* * * * * *"));
        var ticks = new ConcurrentBag<(int Process, DateTimeOffset Tick)>();
        var p1 = new TimerTriggerListener(storage, timers, "host", (t, _) => { ticks.Add((1, t.ScheduledFor)); return Task.CompletedTask; }, NullLogger<TimerTriggerListener>.Instance);
        var p2 = new TimerTriggerListener(storage, timers, "host", (t, _) => { ticks.Add((2, t.ScheduledFor)); return Task.CompletedTask; }, NullLogger<TimerTriggerListener>.Instance);
        var end = DateTime.UtcNow.AddSeconds(3.5);
        while (DateTime.UtcNow < end)
        {
            await Task.WhenAll(p1.CheckOnceAsync(), p2.CheckOnceAsync());
            await Task.Delay(100);
        }
        Assert.InRange(ticks.Count, 2, 4);
        Assert.Equal(ticks.Count, ticks.Select(t => t.Tick).Distinct().Count()); // no tick twice
        Assert.Single(ticks.Select(t => t.Process).Distinct()); // the lease holder runs them all
    }

    [Fact]
    public async Task CheckOnce_TicksMissedWhileDown_FireOnceAsPastDue()
    {
        var storage = NewStorage();
        var schedule = CronSchedule.Parse("0 * * * * *"); // every minute
        await storage.Tables.UpsertAsync(TimerTriggerListener.StatusTable,
            new TableRow("host", "t") { ["Schedule"] = schedule.Expression, ["Next"] = DateTimeOffset.UtcNow.AddMinutes(-10) });
        var timers = new TimerRegistry();
        timers.Set("t", schedule);
        var fired = new List<TimerTick>();
        var listener = new TimerTriggerListener(storage, timers, "host", (t, _) => { fired.Add(t); return Task.CompletedTask; }, NullLogger<TimerTriggerListener>.Instance);
        await listener.CheckOnceAsync();
        await listener.CheckOnceAsync();
        var tick = Assert.Single(fired);
        Assert.True(tick.IsPastDue);
        var status = await storage.Tables.GetAsync(TimerTriggerListener.StatusTable, "host", "t");
        Assert.True(status!.GetDate("Next") > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task CheckOnce_FirstSightOfTimer_DoesNotFireImmediately()
    {
        var storage = NewStorage();
        var timers = new TimerRegistry();
        timers.Set("t", CronSchedule.Parse("0 0 2 * * *"));
        int fired = 0;
        var listener = new TimerTriggerListener(storage, timers, "host", (_, _) => { fired++; return Task.CompletedTask; }, NullLogger<TimerTriggerListener>.Instance);
        await listener.CheckOnceAsync();
        Assert.Equal(0, fired);
    }

    [Theory]
    [InlineData("0 0 2 * * *", true)]
    [InlineData("*/5 * * * * *", true)]
    [InlineData("0 2 * * *", false)]
    [InlineData("0 0 25 * * *", false)]
    public void CronSchedule_TryParse_AcceptsOnlySixFieldExpressions(string expression, bool valid)
    {
        Assert.Equal(valid, CronSchedule.TryParse(expression, out _, out string? error));
        if (!valid) Assert.False(string.IsNullOrEmpty(error));
    }
}
