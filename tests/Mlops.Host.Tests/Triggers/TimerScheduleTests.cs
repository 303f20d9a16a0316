using Mlops.Host.Triggers;
using Xunit;

namespace Mlops.Host.Tests.Triggers;

public class TimerScheduleTests
{
    private static readonly DateTime Noon = new(2026, 12, 3, 12, 0, 0);

    [Fact]
    public void GetNextOccurrence_SixFieldCron_UsesTheSecondsField()
    {
        var schedule = TimerSchedule.Parse("30 */5 * * * *");

        Assert.Equal(Noon.AddSeconds(30), schedule.GetNextOccurrence(Noon));
        Assert.Equal(Noon.AddMinutes(5).AddSeconds(30), schedule.GetNextOccurrence(Noon.AddSeconds(30)));
    }

    [Fact]
    public void GetNextOccurrence_FiveFieldCron_ReadsWithoutSeconds()
    {
        Assert.Equal(Noon.AddHours(1), TimerSchedule.Parse("0 * * * *").GetNextOccurrence(Noon));
    }

    [Fact]
    public void GetNextOccurrence_TimeSpan_IsThatLongAfter()
    {
        var schedule = TimerSchedule.Parse("01:30:00");

        Assert.Equal(Noon.AddMinutes(90), schedule.GetNextOccurrence(Noon));
        Assert.False(schedule.AdjustForDst);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("* * *")]
    [InlineData("-00:01:00")]
    public void Parse_InvalidExpression_ThrowsFormatException(string expression)
    {
        Assert.Throws<FormatException>(() => TimerSchedule.Parse(expression));
    }

    [Fact]
    public void CheckPastDue_NoStoredStatus_StartsFromNowNotPastDue()
    {
        var schedule = TimerSchedule.Parse("0 0 * * * *");

        var (status, changed, pastDue) = TimerTriggerFunction.CheckPastDue(null, Noon.AddMinutes(10), schedule);

        Assert.True(changed);
        Assert.Equal(TimeSpan.Zero, pastDue);
        Assert.Equal(Noon.AddHours(1), status.Next);
        Assert.Equal(DateTime.MinValue, status.Last);
    }

    [Fact]
    public void CheckPastDue_StoredNextHasPassed_IsPastDueAndKeepsTheStatus()
    {
        var schedule = TimerSchedule.Parse("0 0 * * * *");
        var stored = new ScheduleStatus(Noon, Noon.AddHours(1), Noon);

        var (status, changed, pastDue) = TimerTriggerFunction.CheckPastDue(
            stored,
            Noon.AddHours(3).AddMinutes(5),
            schedule
        );

        Assert.False(changed);
        Assert.Equal(stored, status);
        Assert.Equal(TimeSpan.FromMinutes(125), pastDue);
    }

    [Fact]
    public void CheckPastDue_StoredNextStillAhead_NotPastDue()
    {
        var schedule = TimerSchedule.Parse("0 0 * * * *");
        var stored = new ScheduleStatus(Noon, Noon.AddHours(1), Noon);

        Assert.Equal(TimeSpan.Zero, TimerTriggerFunction.CheckPastDue(stored, Noon.AddMinutes(59), schedule).PastDue);
    }

    [Fact]
    public void CheckPastDue_ScheduleChangedAndRecomputedNextPassed_RecomputesFromNowWithoutCatchUp()
    {
        // Stored under an hourly schedule; now the schedule is every 5 minutes, and Last + 5 min is long past.
        var stored = new ScheduleStatus(Noon, Noon.AddHours(1), Noon);

        var (status, changed, pastDue) = TimerTriggerFunction.CheckPastDue(
            stored,
            Noon.AddMinutes(32),
            TimerSchedule.Parse("0 */5 * * * *")
        );

        Assert.True(changed);
        Assert.Equal(TimeSpan.Zero, pastDue);
        Assert.Equal(Noon.AddMinutes(35), status.Next);
        Assert.Equal(DateTime.MinValue, status.Last);
    }

    [Fact]
    public void AppSettings_DisabledSwitch_AcceptsTrueOneAndTheLinuxName()
    {
        var settings = new AppSettings(name =>
            name switch
            {
                "AzureWebJobs.A.Disabled" => "True",
                "AzureWebJobs.B.Disabled" => "1",
                "AzureWebJobs_C_Disabled" => "true",
                "AzureWebJobs.D.Disabled" => "false",
                "AzureWebJobs.E.Disabled" => "yes",
                _ => null,
            }
        );

        Assert.True(settings.IsFunctionDisabled("A"));
        Assert.True(settings.IsFunctionDisabled("B"));
        Assert.True(settings.IsFunctionDisabled("C"));
        Assert.False(settings.IsFunctionDisabled("D"));
        Assert.False(settings.IsFunctionDisabled("E"));
        Assert.False(settings.IsFunctionDisabled("F"));
    }

    [Fact]
    public void AppSettings_ResolveWholeString_ReplacesEverySetting()
    {
        var settings = new AppSettings(name =>
            name == "A" ? "x"
            : name == "B" ? "y"
            : null
        );

        Assert.Equal("x/y/z", settings.ResolveWholeString("%A%/%B%/z"));
        Assert.Contains(
            "no closing '%'",
            Assert.Throws<InvalidOperationException>(() => settings.ResolveWholeString("%A")).Message
        );
    }
}
