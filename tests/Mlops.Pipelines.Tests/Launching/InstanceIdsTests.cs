using Mlops.Pipelines.Launching;
using Xunit;

namespace Mlops.Pipelines.Tests.Launching;

public sealed class InstanceIdsTests
{
    private static readonly DateTimeOffset Tick = new(2026, 12, 1, 2, 30, 0, TimeSpan.Zero);

    [Fact]
    public void ForDrop_SameBlobVersion_SameIdWhateverTheETagQuotes()
    {
        string quoted = PipelineInstanceIds.ForDrop("churn", "churn/a.csv", "\"0x8DC\"");
        Assert.Equal(quoted, PipelineInstanceIds.ForDrop("churn", "churn/a.csv", "0x8DC"));
        Assert.NotEqual(quoted, PipelineInstanceIds.ForDrop("churn", "churn/a.csv", "0x8DD"));
        Assert.Matches("^train-churn-drop-[0-9a-f]{16}$", quoted);
    }

    [Fact]
    public void ForMonitor_SameMonitorRun_SameIdWhateverTheReasonText()
    {
        string id = PipelineInstanceIds.ForMonitor(
            "churn",
            "monitor run monitor-churn-sched-20261201T020000: drift 0.6"
        );
        Assert.Equal(
            id,
            PipelineInstanceIds.ForMonitor("churn", "monitor run monitor-churn-sched-20261201T020000: other words")
        );
        Assert.StartsWith("train-churn-mon-", id, StringComparison.Ordinal);
    }

    [Fact]
    public void ForTick_BothOrchestrations_OneSchemeInUtc()
    {
        Assert.Equal("train-churn-sched-20261201T023000", PipelineInstanceIds.ForSchedule("churn", Tick));
        Assert.Equal(
            "monitor-churn-sched-20261201T023000",
            Pipelines.Monitoring.DurableMonitorLauncher.ForTick("churn", Tick)
        );
        Assert.Equal(
            "train-churn-sched-20261201T023000",
            PipelineInstanceIds.ForSchedule("churn", Tick.ToOffset(TimeSpan.FromHours(5)))
        );
    }

    [Fact]
    public void ForManual_TwoCallsInOneSecond_DistinctAndTimeOrdered()
    {
        string a = InstanceIds.ForManual(InstanceIds.Training, "churn", Tick);
        string b = InstanceIds.ForManual(InstanceIds.Training, "churn", Tick);
        Assert.NotEqual(a, b);
        Assert.StartsWith("train-churn-run-20261201T023000-", a, StringComparison.Ordinal);
        Assert.True(
            string.CompareOrdinal(a, InstanceIds.ForManual(InstanceIds.Training, "churn", Tick.AddSeconds(1))) < 0
        );
    }

    [Theory]
    [InlineData("churn")]
    [InlineData("breast-cancer")]
    [InlineData("a-run-b")]
    [InlineData("x-drop-0123456789abcdef")]
    [InlineData("sched-every-min")]
    public void TryParse_EveryKind_GivesBackTheSubject(string subject)
    {
        string[] ids =
        [
            PipelineInstanceIds.ForDrop(subject, $"{subject}/a.csv", "e"),
            PipelineInstanceIds.ForMonitor(subject, "monitor run m: x"),
            PipelineInstanceIds.ForSchedule(subject, Tick),
            PipelineInstanceIds.ForManual(subject),
            InstanceIds.ForManual(InstanceIds.Monitor, subject, Tick),
        ];
        string[] kinds = ["drop", "mon", "sched", "run", "run"];
        for (int i = 0; i < ids.Length; i++)
        {
            Assert.True(InstanceIds.TryParse(ids[i], out var parts), ids[i]);
            Assert.Equal((i == 4 ? "monitor" : "train", subject, kinds[i]), (parts.Prefix, parts.Subject, parts.Kind));
        }
    }

    [Theory]
    [InlineData("train-churn-1f2e3d4c5b6a7988")] // before the scheme had a kind for drops
    [InlineData("monitor-churn-20261201T023000")]
    [InlineData("train-churn-drop-XYZ")]
    [InlineData("crash-1")]
    [InlineData("")]
    public void TryParse_OtherShapes_False(string id) => Assert.False(InstanceIds.TryParse(id, out _));
}
