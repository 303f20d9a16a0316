using Mlops.Core.Scheduling;

namespace Mlops.Monitoring.Policy;

/// <summary>What a monitor run measured, as the policy needs it.</summary>
/// <param name="Now">Time of the decision (replay-safe time in an orchestration).</param>
/// <param name="Metrics">Current metric values: realized when enough labels were joined, else CBPE estimates.</param>
/// <param name="MetricsEstimated">True when <paramref name="Metrics"/> are estimates (no or too few labels).</param>
/// <param name="ReferenceMetrics">The serving version's evaluation metrics.</param>
/// <param name="DriftShare">Share of drifted features (null when no feature could be tested).</param>
/// <param name="NewLabels">Labels received since the last retraining (or since the serving version was
/// trained).</param>
/// <param name="AttributionShift">Largest change of one column's share of total attribution (null when not
/// measured).</param>
public sealed record MonitorSignals(
    DateTimeOffset Now,
    IReadOnlyDictionary<string, double> Metrics,
    bool MetricsEstimated,
    IReadOnlyDictionary<string, double> ReferenceMetrics,
    double? DriftShare,
    long NewLabels,
    double? AttributionShift = null
);

/// <summary>The policy's memory: when retrainings were started, and when the policy last ran.</summary>
/// <param name="RetrainsStarted">Start times of earlier retrainings started by the monitor (any order).</param>
/// <param name="LastEvaluated">Previous decision time (schedule conditions fire for cron ticks after it).</param>
public sealed record RetrainHistory(IReadOnlyList<DateTimeOffset> RetrainsStarted, DateTimeOffset? LastEvaluated);

/// <summary>One condition's evaluation.</summary>
/// <param name="Signal">Signal name.</param>
/// <param name="Held">True when the condition holds.</param>
/// <param name="Value">Measured value (drop, share, label count; null when it could not be measured).</param>
/// <param name="Threshold">Limit of the condition.</param>
/// <param name="Message">What was measured against what, in words.</param>
public sealed record ConditionResult(string Signal, bool Held, double? Value, double? Threshold, string Message);

/// <summary>A retraining decision and why. Recorded for every run, whether it retrains or not.</summary>
/// <param name="Retrain">Start a retraining now.</param>
/// <param name="Reason">One sentence: the conditions that held, or why nothing starts.</param>
/// <param name="Conditions">Every condition's evaluation.</param>
/// <param name="SuppressedBy"><c>cooldown</c> or <c>daily_cap</c> when a condition held but the guard stopped
/// it.</param>
/// <param name="DecidedAt">Decision time.</param>
public sealed record RetrainDecision(
    bool Retrain,
    string Reason,
    IReadOnlyList<ConditionResult> Conditions,
    string? SuppressedBy,
    DateTimeOffset DecidedAt
);

/// <summary>
/// The declarative retraining policy as a pure function: signals + history → decision. Any condition that holds asks
/// for a retraining; the cooldown (least time since the last one) and the daily cap (most in any 24 hours) then guard
/// against loops — a model that stays bad after retraining cannot retrain again and again.
/// </summary>
public static class RetrainPolicy
{
    private static readonly HashSet<string> LowerIsBetterMetrics = new(StringComparer.OrdinalIgnoreCase)
    {
        "rmse",
        "mae",
        "mape",
        "logloss",
    };

    /// <summary>Metrics where lower is better (a "drop" is an increase): rmse, mae, mape, logloss.</summary>
    public static bool LowerIsBetter(string metric) => LowerIsBetterMetrics.Contains(metric);

    /// <summary>How much <paramref name="current"/> is worse than <paramref name="reference"/> in the metric's
    /// direction.</summary>
    public static double Drop(string metric, double current, double reference) =>
        LowerIsBetter(metric) ? current - reference : reference - current;

    /// <summary>Decides whether to retrain.</summary>
    public static RetrainDecision Decide(RetrainOptions? options, MonitorSignals signals, RetrainHistory history)
    {
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(history);
        var now = signals.Now;
        if (options is null)
            return new RetrainDecision(
                false,
                "No retraining policy is configured (monitoring.retrain).",
                [],
                null,
                now
            );
        var results = options.When.Select(c => Evaluate(c, signals, history)).ToList();
        var held = results.Where(r => r.Held).ToList();
        if (held.Count == 0)
            return new RetrainDecision(false, "No retraining condition holds.", results, null, now);
        string why = string.Join("; ", held.Select(h => h.Message));
        var last = history.RetrainsStarted.Count == 0 ? (DateTimeOffset?)null : history.RetrainsStarted.Max();
        if (last is { } l && now - l < options.Cooldown)
            return new RetrainDecision(
                false,
                $"Retraining is due ({why}) but held back: cooldown of {options.Cooldown} since the retraining at {l:O} lasts until {l + options.Cooldown:O}.",
                results,
                "cooldown",
                now
            );
        int today = history.RetrainsStarted.Count(t => t > now - TimeSpan.FromDays(1) && t <= now);
        if (today >= options.MaxPerDay)
            return new RetrainDecision(
                false,
                $"Retraining is due ({why}) but held back: {today} retraining(s) in the last 24 hours reach the cap of {options.MaxPerDay} per day.",
                results,
                "daily_cap",
                now
            );
        return new RetrainDecision(true, why, results, null, now);
    }

    private static ConditionResult Evaluate(RetrainCondition c, MonitorSignals s, RetrainHistory h) =>
        c.Signal switch
        {
            "performance" => Performance(c, s),
            "data_drift" => s.DriftShare is { } share
                ? new(
                    c.Signal,
                    share >= c.Share,
                    share,
                    c.Share,
                    $"data drift: {share:P0} of features drifted (limit {c.Share:P0})"
                )
                : new(c.Signal, false, null, c.Share, "data drift: no feature could be tested"),
            "attribution_drift" => s.AttributionShift is { } shift
                ? new(
                    c.Signal,
                    shift >= c.Share,
                    shift,
                    c.Share,
                    $"attribution drift: a column's share of total attribution moved {shift:P1} (limit {c.Share:P0})"
                )
                : new(
                    c.Signal,
                    false,
                    null,
                    c.Share,
                    "attribution drift: not measured (no registration-time importance, or too few explainable rows)"
                ),
            "schedule" => Schedule(c, s.Now, h.LastEvaluated),
            "new_labels" => new(
                c.Signal,
                s.NewLabels >= c.Count,
                s.NewLabels,
                c.Count,
                $"new labels: {s.NewLabels} received since the last retraining (limit {c.Count})"
            ),
            _ => new(c.Signal, false, null, null, $"unknown signal {c.Signal}"),
        };

    private static ConditionResult Performance(RetrainCondition c, MonitorSignals s)
    {
        string metric = c.Metric!;
        string source = s.MetricsEstimated ? "estimated (CBPE)" : "realized";
        if (!s.Metrics.TryGetValue(metric, out double current) || double.IsNaN(current))
            return new(c.Signal, false, null, c.Drop, $"performance: no {metric} for this window");
        if (!s.ReferenceMetrics.TryGetValue(metric, out double reference) || double.IsNaN(reference))
            return new(c.Signal, false, null, c.Drop, $"performance: the serving version has no reference {metric}");
        double drop = Drop(metric, current, reference);
        return new(
            c.Signal,
            drop >= c.Drop,
            drop,
            c.Drop,
            $"performance: {source} {metric} {current:0.####} vs {reference:0.####} at training, a drop of {drop:0.####} (limit {c.Drop:0.####})"
        );
    }

    private static ConditionResult Schedule(RetrainCondition c, DateTimeOffset now, DateTimeOffset? lastEvaluated)
    {
        var cron = CronSchedule.Parse(c.Cron!);
        // A tick in (last evaluation, now] fires once; on the first evaluation only a tick within the last hour counts.
        var after = lastEvaluated ?? now.AddHours(-1);
        var next = cron.Next(after);
        bool due = next <= now;
        return new(
            c.Signal,
            due,
            null,
            null,
            due
                ? $"schedule: {c.Cron} was due at {next.UtcDateTime:O}"
                : $"schedule: next {c.Cron} tick at {next.UtcDateTime:O}"
        );
    }
}
