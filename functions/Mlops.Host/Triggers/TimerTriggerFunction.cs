using System.Globalization;
using System.Text.Json;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;

namespace Mlops.Host.Triggers;

/// <summary>
/// A <c>timerTrigger</c> function as this host runs it, read from its binding as the Timer extension reads the
/// attribute (azure-webjobs-sdk-extensions 5.1.0: TimerTriggerAttribute, TimerSchedule.Create): <c>schedule</c> with
/// <c>%SETTING%</c> resolved, <c>useMonitor</c> (default true, turned off for schedules that fire more than once a
/// minute) and <c>runOnStartup</c>.
/// </summary>
public sealed class TimerTriggerFunction
{
    private TimerTriggerFunction(
        HostedFunction function,
        string bindingName,
        string expression,
        TimerSchedule schedule,
        bool useMonitor,
        bool runOnStartup
    )
    {
        Function = function;
        BindingName = bindingName;
        ScheduleExpression = expression;
        Schedule = schedule;
        UseMonitor = useMonitor;
        RunOnStartup = runOnStartup;
    }

    /// <summary>The function as the worker indexed it.</summary>
    public HostedFunction Function { get; }

    /// <summary>The trigger parameter's name.</summary>
    public string BindingName { get; }

    /// <summary>The schedule as written in the binding (before <c>%SETTING%</c> resolution).</summary>
    public string ScheduleExpression { get; }

    /// <summary>The resolved schedule.</summary>
    public TimerSchedule Schedule { get; }

    /// <summary>Whether the schedule status is persisted (and so past-due runs are caught up).</summary>
    public bool UseMonitor { get; }

    /// <summary>Whether the function also runs whenever its listener starts.</summary>
    public bool RunOnStartup { get; }

    /// <summary>
    /// The name the real host keys a timer's status and lock by: the generated method's full name
    /// (<c>Host.Functions.{FunctionName}</c>, TimerTriggerBinding's timer name).
    /// </summary>
    public string TimerName => BlobTriggerFunction.HostFunctionId(Function.Name);

    /// <summary>
    /// Reads a timerTrigger binding. An empty, unresolvable or invalid schedule throws <see
    /// cref="InvalidOperationException"/> naming the function and the schedule as written (so the setting behind
    /// <c>%...%</c> is named).
    /// </summary>
    public static TimerTriggerFunction Create(HostedFunction function, AppSettings settings)
    {
        var raw = function.TriggerJson;
        string expression =
            raw.TryGetProperty("schedule", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
        try
        {
            string resolved = settings.ResolveWholeString(expression);
            if (string.IsNullOrWhiteSpace(resolved))
                throw new FormatException(
                    expression.Contains('%') ? $"the setting behind '{expression}' is empty" : "the schedule is empty"
                );
            var schedule = TimerSchedule.Parse(resolved);
            bool useMonitor = !raw.TryGetProperty("useMonitor", out var m) || m.ValueKind != JsonValueKind.False;
            bool runOnStartup = raw.TryGetProperty("runOnStartup", out var r) && r.ValueKind == JsonValueKind.True;
            return new TimerTriggerFunction(
                function,
                function.Trigger.Key,
                expression,
                schedule,
                useMonitor && schedule.SupportsMonitor,
                runOnStartup
            );
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new InvalidOperationException(
                $"Timer trigger of function '{function.Name}' cannot run: schedule '{expression}': {e.Message}",
                e
            );
        }
    }

    /// <summary>The invocation the real host sends: the TimerInfo as JSON and the <c>TimerTrigger</c> binding data (the
    /// time it fired).</summary>
    public InvocationRequest CreateInvocation(ScheduleStatus? status, bool isPastDue)
    {
        var request = new InvocationRequest
        {
            FunctionId = Function.FunctionId,
            InvocationId = Guid.NewGuid().ToString(),
            TraceContext = TriggerServices.NewTraceContext(),
        };
        request.InputData.Add(
            new ParameterBinding
            {
                Name = BindingName,
                Data = new TypedData
                {
                    Json = ScheduleStatus.TimerInfoJson(Schedule, UseMonitor ? status : null, isPastDue),
                },
            }
        );
        request.TriggerMetadata["TimerTrigger"] = new TypedData
        {
            String = DateTime.Now.ToString(CultureInfo.InvariantCulture),
        };
        return request;
    }

    /// <summary>
    /// What the Timer extension does with a stored status when a listener starts (ScheduleMonitor.CheckPastDueAsync): a
    /// new timer gets a status from now; a status whose Next no longer follows from its Last (the schedule changed) is
    /// recomputed, from now when that would already be past; then the timer is past due by <c>now - Next</c> when Next
    /// has passed.
    /// </summary>
    /// <returns>The status to run with, whether it must be written back, and how far past due the timer is (zero if
    /// not).</returns>
    public static (ScheduleStatus Status, bool Changed, TimeSpan PastDue) CheckPastDue(
        ScheduleStatus? stored,
        DateTime now,
        TimerSchedule schedule
    )
    {
        ScheduleStatus status;
        bool changed;
        if (stored is null)
        {
            status = new ScheduleStatus(DateTime.MinValue, schedule.GetNextOccurrence(now), now);
            changed = true;
        }
        else
        {
            DateTime basis =
                stored.Last != DateTime.MinValue ? stored.Last
                : stored.LastUpdated != DateTime.MinValue ? stored.LastUpdated
                : now;
            DateTime expected = schedule.GetNextOccurrence(basis);
            if (stored.Next != expected)
            {
                if (now > expected)
                {
                    expected = schedule.GetNextOccurrence(now);
                    basis = now;
                }
                status = new ScheduleStatus(DateTime.MinValue, expected, basis);
                changed = true;
            }
            else
            {
                status = stored;
                changed = false;
            }
        }
        return (status, changed, now > status.Next ? now - status.Next : TimeSpan.Zero);
    }
}
