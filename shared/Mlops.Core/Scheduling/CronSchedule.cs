using System.Diagnostics.CodeAnalysis;
using NCrontab;

namespace Mlops.Core.Scheduling;

/// <summary>
/// The one schedule type of the app: a 6-field NCRONTAB expression (<c>{second} {minute} {hour} {day} {month}
/// {day-of-week}</c>), in UTC, with the semantics of the Azure Functions timer trigger, which parses its schedules with
/// the same NCrontab library and the same seconds-first form. Used by a dataset's <c>schedule</c>, the
/// <c>RETRAIN_SCHEDULE</c> setting, <c>monitoring.schedule</c> and the retraining policy's <c>schedule</c> condition.
/// </summary>
/// <remarks>
/// Five-field (minute-first) expressions are refused rather than guessed: <c>0 2 * * *</c> would be "02:00" to a
/// crontab reader and "second 0, minute 2 of every hour" to a seconds-first one.
/// </remarks>
public sealed class CronSchedule
{
    /// <summary>A valid example for error messages: 02:00 UTC every day.</summary>
    public const string Example = "0 0 2 * * *";

    private static readonly CrontabSchedule.ParseOptions SecondsFirst = new() { IncludingSeconds = true };

    private readonly CrontabSchedule _schedule;

    private CronSchedule(string expression, CrontabSchedule schedule)
    {
        Expression = expression;
        _schedule = schedule;
    }

    /// <summary>The expression as given.</summary>
    public string Expression { get; }

    /// <summary>Parses a 6-field NCRONTAB expression; on failure <paramref name="error"/> says why in a
    /// phrase.</summary>
    public static bool TryParse(
        string? expression,
        [NotNullWhen(true)] out CronSchedule? schedule,
        [NotNullWhen(false)] out string? error
    )
    {
        schedule = null;
        if (string.IsNullOrWhiteSpace(expression))
        {
            error = "it is empty; 6 fields are needed: second minute hour day month day-of-week";
            return false;
        }
        int fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields != 6)
        {
            error = $"it has {fields} fields, 6 are needed: second minute hour day month day-of-week";
            return false;
        }
        try
        {
            schedule = new CronSchedule(expression, CrontabSchedule.Parse(expression, SecondsFirst));
            error = null;
            return true;
        }
        catch (CrontabException e)
        {
            // NCrontab's message names the field and value; its first line is the useful part.
            error = e.Message.Split('\n')[0].Trim();
            return false;
        }
    }

    /// <summary>Parses a 6-field NCRONTAB expression, or throws a <see cref="FormatException"/> that says
    /// why.</summary>
    public static CronSchedule Parse(string expression) =>
        TryParse(expression, out var schedule, out string? error)
            ? schedule
            : throw new FormatException($"'{expression}' is not a 6-field NCRONTAB expression: {error}.");

    /// <summary>The first occurrence strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset Next(DateTimeOffset after) => Utc(_schedule.GetNextOccurrence(after.UtcDateTime));

    /// <summary>
    /// The latest occurrence in (<paramref name="after"/>, <paramref name="until"/>], or null when there is none: what
    /// a timer that last looked at <paramref name="after"/> owes now. Missed occurrences collapse into the latest one.
    /// </summary>
    public DateTimeOffset? LatestIn(DateTimeOffset after, DateTimeOffset until)
    {
        DateTime? latest = null;
        // GetNextOccurrences excludes its end; one tick more makes an occurrence exactly at `until` count.
        foreach (var occurrence in _schedule.GetNextOccurrences(after.UtcDateTime, until.UtcDateTime.AddTicks(1)))
            latest = occurrence;
        return latest is { } l ? Utc(l) : null;
    }

    /// <inheritdoc />
    public override string ToString() => Expression;

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
