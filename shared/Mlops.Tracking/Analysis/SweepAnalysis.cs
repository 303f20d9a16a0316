using System.Text.Json;
using Mlops.Tracking.Query;

namespace Mlops.Tracking.Analysis;

/// <summary>
/// What a sweep's page shows, from its trials' index rows: the trials in order, the optimization history (best so far),
/// and each parameter's importance for the objective.
/// </summary>
public static class SweepAnalysis
{
    /// <summary>Numeric parameters with more distinct values than this are cut into this many equal-count
    /// bins.</summary>
    private const int Bins = 4;

    public static SweepView Analyze(string pipeline, IReadOnlyList<RunRecord> runs, JsonElement? summary)
    {
        var ordered = runs.OrderBy(r => r.Rung ?? 0)
            .ThenBy(r => r.Trial ?? int.MaxValue)
            .ThenBy(r => r.RunId, StringComparer.Ordinal)
            .ToList();
        var first = ordered.FirstOrDefault();
        string? objective = ordered.Select(r => r.PrimaryMetric).FirstOrDefault(m => m is not null);
        bool higher = first?.HigherIsBetter ?? (objective is not null && MetricDirection.HigherIsBetter(objective));
        string? method = (
            summary is { ValueKind: JsonValueKind.Object } s ? RunArtifacts.As<SweepRecord>(s)?.Method : null
        ) ?? first?.SweepMethod;

        double? Objective(RunRecord r) =>
            objective is not null && r.Metrics.TryGetValue(objective, out double v) && double.IsFinite(v) ? v : null;
        var trials = ordered
            .Select(r => new SweepTrial(
                r.RunId,
                r.Trial,
                r.Rung,
                r.Status,
                r.PrunedAtRound,
                r.PruneReason,
                Objective(r),
                r.Params,
                r.Metrics,
                r.TrainSeconds
            ))
            .ToList();

        var history = new List<HistoryPoint>();
        double? best = null;
        string? bestRun = null;
        for (int i = 0; i < trials.Count; i++)
        {
            var t = trials[i];
            bool counts = t.Status == RunStatus.Completed && t.Objective is not null;
            if (counts && (best is null || (higher ? t.Objective > best : t.Objective < best)))
            {
                best = t.Objective;
                bestRun = t.RunId;
            }
            history.Add(new HistoryPoint(i, t.RunId, t.Objective, best, bestRun, t.Status == RunStatus.Pruned));
        }

        var completed = trials.Where(t => t.Status == RunStatus.Completed && t.Objective is not null).ToList();
        return new SweepView(
            pipeline,
            first?.Dataset,
            method,
            objective,
            higher,
            trials,
            history,
            Importance(completed),
            summary
        );
    }

    /// <summary>
    /// fANOVA-style main effects: for each parameter that varies, the share of the objective's variance explained by
    /// grouping the trials on it (the correlation ratio η², numeric values binned by rank), normalized over the
    /// parameters; and the Spearman rank correlation for numeric parameters. Most important first.
    /// </summary>
    public static List<ParameterImportance> Importance(IReadOnlyList<SweepTrial> trials)
    {
        var raw = new List<(string Name, string Kind, int Distinct, double Eta2, double? Spearman)>();
        if (trials.Count < 2)
            return [];
        var y = trials.Select(t => t.Objective!.Value).ToArray();
        foreach (
            string name in trials
                .SelectMany(t => t.Params.Keys)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
        )
        {
            var values = trials
                .Select(t => t.Params.TryGetValue(name, out var e) ? RunField.FromJson(e) : null)
                .ToArray();
            var texts = values.Select(RunField.AsText).ToArray();
            int distinct = texts.Distinct(StringComparer.Ordinal).Count();
            if (distinct < 2)
                continue;
            var numbers = values.Select(RunField.AsNumber).ToArray();
            bool numeric = numbers.All(n => n is not null);
            string[] groups = texts;
            double? spearman = null;
            if (numeric)
            {
                var x = numbers.Select(n => n!.Value).ToArray();
                spearman = Spearman(x, y);
                if (distinct > Bins)
                {
                    var ranks = Ranks(x);
                    groups = ranks
                        .Select(r => ((int)Math.Min(Bins - 1, (r - 1) * Bins / x.Length)).ToString())
                        .ToArray();
                }
            }
            raw.Add((name, numeric ? "numeric" : "categorical", distinct, CorrelationRatio(groups, y), spearman));
        }
        double total = raw.Sum(r => r.Eta2);
        return raw.Select(r => new ParameterImportance(
                r.Name,
                r.Kind,
                r.Distinct,
                total > 0 ? r.Eta2 / total : 0,
                r.Eta2,
                r.Spearman
            ))
            .OrderByDescending(p => p.Importance)
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>η² = between-group sum of squares / total sum of squares (0 when the objective does not
    /// vary).</summary>
    internal static double CorrelationRatio(IReadOnlyList<string> groups, IReadOnlyList<double> y)
    {
        double mean = y.Average();
        double total = y.Sum(v => (v - mean) * (v - mean));
        if (total <= 0)
            return 0;
        double between = groups
            .Select((g, i) => (g, v: y[i]))
            .GroupBy(x => x.g, StringComparer.Ordinal)
            .Sum(g => g.Count() * Math.Pow(g.Average(x => x.v) - mean, 2));
        return Math.Clamp(between / total, 0, 1);
    }

    /// <summary>Spearman's ρ: Pearson correlation of the ranks (ties get their average rank); null when either side is
    /// constant.</summary>
    internal static double? Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var rx = Ranks(x);
        var ry = Ranks(y);
        double mx = rx.Average(),
            my = ry.Average(),
            sxy = 0,
            sxx = 0,
            syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : null;
    }

    /// <summary>1-based ranks, ties averaged.</summary>
    internal static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int i = 0; i < order.Length; )
        {
            int j = i;
            while (j + 1 < order.Length && values[order[j + 1]] == values[order[i]])
                j++;
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++)
                ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }
}
