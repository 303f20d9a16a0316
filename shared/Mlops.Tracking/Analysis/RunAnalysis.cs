using System.Text.Json;
using Mlops.Tracking.Query;

namespace Mlops.Tracking.Analysis;

/// <summary>Pure computations over run records: grouping with mean ± std, parameter differences, metrics at a
/// step.</summary>
public static class RunAnalysis
{
    /// <summary>
    /// Groups runs by one or more keys (<c>sweep</c> = the pipeline of runs that belong to a sweep, <c>pipeline</c>, or
    /// any
    /// <see cref="RunField"/> such as <c>params.num_leaves</c>), largest group first. Per metric: count, mean, sample
    /// standard deviation (n − 1; 0 for a single run), min and max over the runs that have it.
    /// </summary>
    public static RunGroups Group(IReadOnlyList<RunRecord> runs, IReadOnlyList<string> by)
    {
        if (by.Count == 0)
            throw new FilterSyntaxException(
                0,
                "'by' needs at least one key: sweep, pipeline, or a field such as params.num_leaves."
            );
        var keys = by.Select(k => (Name: k, Field: RunField.Parse(k == "sweep" ? "pipeline" : k))).ToList();
        var selected = by.Contains("sweep") ? runs.Where(r => r.SweepMethod is not null).ToList() : runs;
        var groups = selected
            .GroupBy(
                r => string.Join("\u001f", keys.Select(k => RunField.AsText(k.Field.ValueOf(r)))),
                StringComparer.Ordinal
            )
            .Select(g =>
            {
                var first = g.First();
                var key = keys.ToDictionary(
                    k => k.Name,
                    k => k.Field.ValueOf(first) is { } v ? RunField.AsText(v) : null
                );
                string label = string.Join(", ", key.Select(kv => $"{kv.Key}={kv.Value ?? "(none)"}"));
                return new RunGroup(key, label, g.Count(), g.Select(r => r.RunId).ToList(), Stats(g.ToList()));
            })
            .OrderByDescending(g => g.Count)
            .ThenBy(g => g.Label, StringComparer.Ordinal)
            .ToList();
        return new RunGroups(by, selected.Count, groups);
    }

    /// <summary>Per metric: mean ± sample std, min, max over the runs that report it (non-finite values are left
    /// out).</summary>
    public static Dictionary<string, MetricStats> Stats(IReadOnlyList<RunRecord> runs)
    {
        var result = new Dictionary<string, MetricStats>(StringComparer.Ordinal);
        foreach (
            string name in runs.SelectMany(r => r.Metrics.Keys)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
        )
        {
            var values = runs.Select(r => r.Metrics.TryGetValue(name, out double v) ? v : double.NaN)
                .Where(double.IsFinite)
                .ToArray();
            if (values.Length == 0)
                continue;
            double mean = values.Average();
            double std =
                values.Length > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1)) : 0;
            result[name] = new MetricStats(values.Length, mean, std, values.Min(), values.Max());
        }
        return result;
    }

    /// <summary>
    /// The parameters whose values are not all equal across <paramref name="runs"/> (JSON-equal: 31 and 31.0 are the
    /// same; a run without the parameter differs from one with it), in name order.
    /// </summary>
    public static List<ParamDifference> ParamDiff(IReadOnlyList<RunRecord> runs)
    {
        var diff = new List<ParamDifference>();
        foreach (
            string name in runs.SelectMany(r => r.Params.Keys)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
        )
        {
            var values = runs.Select(r => r.Params.TryGetValue(name, out var v) ? v : (JsonElement?)null).ToList();
            var distinct = values
                .Select(v =>
                    v is { } e ? RunField.AsText(RunField.FromJson(e)) + "\u001f" + e.ValueKind : "\u001fabsent"
                )
                .Distinct(StringComparer.Ordinal)
                .Count();
            if (distinct > 1)
                diff.Add(
                    new ParamDifference(
                        name,
                        runs.Zip(values).ToDictionary(x => x.First.RunId, x => x.Second, StringComparer.Ordinal)
                    )
                );
        }
        return diff;
    }

    /// <summary>Each run's curve values at <paramref name="step"/> (or its nearest earlier round).</summary>
    public static List<MetricsAtStep> AtStep(
        IEnumerable<(string RunId, IReadOnlyList<CurvePoint> Curve)> curves,
        int step
    ) =>
        curves
            .Select(c =>
                CurveSummaries.AtStep(c.Curve, step) is { } p
                    ? new MetricsAtStep(c.RunId, p.Round, p.Metric, p.Train, p.Validation, p.Elapsed)
                    : new MetricsAtStep(c.RunId, null, null, null, null, null)
            )
            .ToList();

    /// <summary>Names used by the runs in <paramref name="runs"/>: the runs table's columns.</summary>
    public static RunColumns Columns(IEnumerable<RunRecord> runs)
    {
        var p = new SortedSet<string>(StringComparer.Ordinal);
        var m = new SortedSet<string>(StringComparer.Ordinal);
        var c = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var r in runs)
        {
            p.UnionWith(r.Params.Keys);
            m.UnionWith(r.Metrics.Keys);
            c.UnionWith(r.Curves.Keys);
        }
        return new RunColumns(p.ToList(), m.ToList(), c.ToList());
    }

    /// <summary>
    /// Sorts runs by <c>field [asc|desc]</c> (default: newest first). Runs lacking the field go last either way; ties
    /// keep run-id order so pages are stable.
    /// </summary>
    public static List<RunRecord> Order(IEnumerable<RunRecord> runs, string? orderBy)
    {
        if (string.IsNullOrWhiteSpace(orderBy))
            return runs.OrderByDescending(r => r.CreatedAt).ThenBy(r => r.RunId, StringComparer.Ordinal).ToList();
        string[] parts = orderBy.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length > 2 || (parts.Length == 2 && parts[1].ToLowerInvariant() is not ("asc" or "desc")))
            throw new FilterSyntaxException(
                0,
                $"orderBy '{orderBy}' must be a field optionally followed by asc or desc, e.g. 'metrics.auc desc'."
            );
        var field = RunField.Parse(parts[0]);
        bool descending = parts.Length == 2 && parts[1].Equals("desc", StringComparison.OrdinalIgnoreCase);
        var list = runs.Select(r => (Run: r, Value: field.ValueOf(r))).ToList();
        list.Sort(
            (a, b) =>
            {
                if (a.Value is null || b.Value is null)
                    return a.Value is null && b.Value is null ? string.CompareOrdinal(a.Run.RunId, b.Run.RunId)
                        : a.Value is null ? 1
                        : -1;
                int c = RunField.Compare(a.Value, b.Value);
                return c != 0 ? (descending ? -c : c) : string.CompareOrdinal(a.Run.RunId, b.Run.RunId);
            }
        );
        return list.Select(x => x.Run).ToList();
    }
}
