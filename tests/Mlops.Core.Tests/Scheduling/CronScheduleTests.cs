using Mlops.Core.Scheduling;
using Xunit;

namespace Mlops.Core.Tests.Scheduling;

/// <summary>
/// The cases of the three parsers this type replaced (the pipeline's <c>schedule</c> check, the monitor scheduler's
/// occurrence search, the monitoring options' and retraining policy's NCRONTAB parsing), on the one type.
/// </summary>
public sealed class CronScheduleTests
{
    private static readonly DateTimeOffset Day = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("0 0 2 * * *")]
    [InlineData("0 * * * * *")]
    [InlineData("0 30 2 * * *")]
    [InlineData("0 0 3 * * 0")]
    [InlineData("30 */5 * * * *")]
    [InlineData("0 0 9-17 * * MON-FRI")]
    public void TryParse_SixFields_Accepted(string expression)
    {
        Assert.True(CronSchedule.TryParse(expression, out var schedule, out string? error), error);
        Assert.Equal(expression, schedule.Expression);
    }

    [Theory]
    [InlineData("0 2 * * *", "5 fields")]
    [InlineData("0 * * * *", "5 fields")]
    [InlineData("0 0 0 2 * * *", "7 fields")]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    public void TryParse_WrongFieldCount_RefusedWithTheCount(string expression, string expected)
    {
        Assert.False(CronSchedule.TryParse(expression, out var schedule, out string? error));
        Assert.Null(schedule);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("6", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0 0 25 * * *")]
    [InlineData("0 61 * * * *")]
    [InlineData("x 0 2 * * *")]
    public void TryParse_FieldOutOfRange_RefusedWithAReason(string expression)
    {
        Assert.False(CronSchedule.TryParse(expression, out _, out string? error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void Parse_Invalid_FormatExceptionNamesTheExpression()
    {
        var e = Assert.Throws<FormatException>(() => CronSchedule.Parse("0 2 * * *"));
        Assert.Contains("'0 2 * * *'", e.Message, StringComparison.Ordinal);
        Assert.Contains("6-field", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_StrictlyAfter_TheFollowingOccurrenceInUtc()
    {
        var daily = CronSchedule.Parse("0 0 2 * * *");
        Assert.Equal(Day.AddHours(2), daily.Next(Day));
        Assert.Equal(Day.AddDays(1).AddHours(2), daily.Next(Day.AddHours(2))); // an occurrence at `after` is not "next"
        var fromOtherZone = daily.Next(new DateTimeOffset(2026, 12, 1, 3, 0, 0, TimeSpan.FromHours(2))); // 01:00 UTC
        Assert.Equal(Day.AddHours(2), fromOtherZone);
        Assert.Equal(TimeSpan.Zero, fromOtherZone.Offset);
    }

    [Fact]
    public void Next_DayOfWeek_SundayIsZero()
    {
        // 2026-12-01 is a Tuesday: the next Sunday 03:00 is 2026-12-06.
        Assert.Equal(
            new DateTimeOffset(2026, 12, 6, 3, 0, 0, TimeSpan.Zero),
            CronSchedule.Parse("0 0 3 * * 0").Next(Day)
        );
    }

    [Fact]
    public void LatestIn_OccurrenceAtTheEnd_Counts()
    {
        var daily = CronSchedule.Parse("0 30 2 * * *");
        Assert.Equal(
            Day.AddHours(2).AddMinutes(30),
            daily.LatestIn(Day.AddHours(2).AddMinutes(29), Day.AddHours(2).AddMinutes(30))
        );
    }

    [Fact]
    public void LatestIn_OccurrenceAtTheStart_DoesNotCount() =>
        Assert.Null(CronSchedule.Parse("0 0 * * * *").LatestIn(Day, Day.AddMinutes(59)));

    [Fact]
    public void LatestIn_NoneInRange_Null() =>
        Assert.Null(CronSchedule.Parse("0 0 * * * *").LatestIn(Day.AddMinutes(1), Day.AddMinutes(59)));

    [Fact]
    public void LatestIn_ManyMissed_OnlyTheLatest()
    {
        // A host down for ten hours owes one hourly run, for the latest hour, not ten.
        Assert.Equal(Day.AddHours(10), CronSchedule.Parse("0 0 * * * *").LatestIn(Day, Day.AddHours(10).AddMinutes(5)));
    }
}
