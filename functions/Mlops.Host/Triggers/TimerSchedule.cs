using System.Globalization;
using NCrontab;

namespace Mlops.Host.Triggers;

/// <summary>
/// A timer trigger's schedule as the Timer extension reads it (azure-webjobs-sdk-extensions 5.1.0, commit 2e7550f:
/// TimerSchedule.Create, CronSchedule, ConstantSchedule): an NCRONTAB expression with seconds (six fields; five fields
/// are read without seconds), else a TimeSpan ("00:05:00") meaning "that long after the previous run". Times are the
/// host's local time, as the real host computes them (UTC unless WEBSITE_TIME_ZONE/TZ says otherwise); the extension's
/// daylight-saving adjustments are not copied.
/// </summary>
public abstract class TimerSchedule
{
    /// <summary>The expression after <c>%SETTING%</c> resolution.</summary>
    public string Expression { get; private init; } = "";

    /// <summary>
    /// False for schedules that fire more than once a minute: the real host then keeps no schedule status, so there is
    /// no past-due catch-up for them (TimerSchedule.ShouldDisableScheduleMonitor; TimeSpan schedules under a minute).
    /// </summary>
    public abstract bool SupportsMonitor { get; }

    /// <summary>The value the real host reports as TimerInfo.Schedule.AdjustForDST (true for cron, false for
    /// TimeSpan).</summary>
    public abstract bool AdjustForDst { get; }

    /// <summary>The first occurrence strictly after <paramref name="now"/> (local time).</summary>
    public abstract DateTime GetNextOccurrence(DateTime now);

    /// <summary>
    /// Parses an already-resolved expression. Throws <see cref="FormatException"/> with the real host's wording when it
    /// is neither a cron expression nor a TimeSpan.
    /// </summary>
    public static TimerSchedule Parse(string expression)
    {
        if (string.IsNullOrWhiteSpace(expression))
            throw new FormatException(
                "The schedule expression is empty; write a 6-field NCRONTAB expression or a TimeSpan."
            );
        int fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var cron = CrontabSchedule.TryParse(
            expression,
            new CrontabSchedule.ParseOptions { IncludingSeconds = fields != 5 }
        );
        if (cron is not null)
            return new Cron(cron) { Expression = expression };
        if (TimeSpan.TryParse(expression, CultureInfo.InvariantCulture, out var interval) && interval > TimeSpan.Zero)
            return new Constant(interval) { Expression = expression };
        throw new FormatException(
            $"The schedule expression '{expression}' was not recognized as a valid cron expression or timespan string."
        );
    }

    private sealed class Cron(CrontabSchedule schedule) : TimerSchedule
    {
        public override bool AdjustForDst => true;

        // Only "X * * * * *" can fire more than once a minute; count its occurrences in the next minute like the host
        // does.
        public override bool SupportsMonitor
        {
            get
            {
                if (schedule.ToString().Split(' ').Skip(1).Any(part => part != "*"))
                    return true;
                var now = DateTime.Now;
                return schedule.GetNextOccurrences(now, now.AddMinutes(1)).Take(2).Count() <= 1;
            }
        }

        public override DateTime GetNextOccurrence(DateTime now) => schedule.GetNextOccurrence(now);
    }

    private sealed class Constant(TimeSpan interval) : TimerSchedule
    {
        public override bool AdjustForDst => false;
        public override bool SupportsMonitor => interval >= TimeSpan.FromMinutes(1);

        public override DateTime GetNextOccurrence(DateTime now) => now + interval;
    }
}
