using Mlops.Monitoring;
using Mlops.Pipelines.Monitoring;
using Xunit;

namespace Mlops.Pipelines.Tests.Monitoring;

public class MonitorSchedulerTests
{
    private sealed class Source : IMonitoringSource
    {
        public Dictionary<string, string?> Sections { get; } =
            new()
            {
                ["hourly"] = null, // default schedule: every hour on the hour
                ["daily"] = """{"schedule":"0 30 2 * * *"}""",
                ["broken"] = """{"schedule":"every hour"}""",
                ["unserved"] = null,
            };

        public Task<string?> GetMonitoringJsonAsync(string model, CancellationToken cancellationToken) =>
            Task.FromResult(Sections[model]);

        public Task<int?> GetServingVersionAsync(string model, CancellationToken cancellationToken) =>
            Task.FromResult<int?>(model == "unserved" ? null : 1);
    }

    private sealed class Launcher : IScheduledMonitorLauncher
    {
        public List<(string Model, DateTimeOffset Tick)> Started { get; } = [];

        public Task<string> StartScheduledAsync(
            string model,
            DateTimeOffset tick,
            CancellationToken cancellationToken = default
        )
        {
            Started.Add((model, tick));
            return Task.FromResult(DurableMonitorLauncher.ForTick(model, tick));
        }
    }

    private static readonly DateTimeOffset Day = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Models = ["hourly", "daily", "broken", "unserved"];

    [Fact]
    public async Task TickAsync_StartsOnlyDueServedValidModels()
    {
        var launcher = new Launcher();
        var started = await new MonitorScheduler(new Source(), launcher).TickAsync(
            Models,
            Day.AddHours(2).AddMinutes(29),
            Day.AddHours(2).AddMinutes(30)
        );
        Assert.Equal([("daily", Day.AddHours(2).AddMinutes(30))], launcher.Started);
        Assert.Equal("monitor-daily-sched-20261201T023000", Assert.Single(started).RunId);

        launcher.Started.Clear();
        await new MonitorScheduler(new Source(), launcher).TickAsync(
            Models,
            Day.AddHours(2).AddMinutes(59),
            Day.AddHours(3)
        );
        Assert.Equal([("hourly", Day.AddHours(3))], launcher.Started);
    }

    [Fact]
    public async Task TickAsync_AfterOutage_OneRunForTheLatestOccurrence()
    {
        var launcher = new Launcher();
        await new MonitorScheduler(new Source(), launcher).TickAsync(["hourly"], Day, Day.AddHours(10).AddMinutes(5));
        Assert.Equal([("hourly", Day.AddHours(10))], launcher.Started);
    }
}
