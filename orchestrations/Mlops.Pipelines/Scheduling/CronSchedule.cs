using NCrontab;

namespace Mlops.Pipelines.Scheduling;

/// <summary>A 6-field NCRONTAB schedule ({second} {minute} {hour} {day} {month} {day-of-week}), UTC, as Azure Functions timers use.</summary>
public sealed class CronSchedule
{
    private readonly CrontabSchedule _schedule;

    private CronSchedule(string expression, CrontabSchedule schedule) { Expression = expression; _schedule = schedule; }

    public string Expression { get; }

    public static bool TryParse(string expression, out CronSchedule? schedule, out string? error)
    {
        schedule = null;
        error = null;
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6) { error = $"it has {fields.Length} fields, 6 are needed: second minute hour day month day-of-week"; return false; }
        var parsed = CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        if (parsed is null) { error = "a field is out of range or malformed"; return false; }
        schedule = new CronSchedule(expression, parsed);
        return true;
    }

    public static CronSchedule Parse(string expression) =>
        TryParse(expression, out var s, out var e) ? s! : throw new FormatException($"'{expression}' is not a 6-field NCRONTAB expression: {e}.");

    /// <summary>The first occurrence strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset Next(DateTimeOffset after) =>
        new(DateTime.SpecifyKind(_schedule.GetNextOccurrence(after.UtcDateTime), DateTimeKind.Utc));
}
