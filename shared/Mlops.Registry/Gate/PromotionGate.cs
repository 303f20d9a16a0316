using System.Globalization;

namespace Mlops.Registry.Gate;

/// <summary>
/// Decides whether a candidate replaces production. Pure function of the two metric sets, so the pipeline can call it
/// from an activity and replay it. Both metric sets must come from the same held-out data.
/// </summary>
public static class PromotionGate
{
    /// <summary>
    /// Passes when there is no production model (and the optional bound holds), or when the primary metric improves by
    /// at least both margins and no slice worsens by more than <see cref="GateOptions.MaxSliceDrop"/>.
    /// </summary>
    /// <param name="candidate">Metrics of the new model.</param>
    /// <param name="production">Metrics of the current production model on the same data; null when none.</param>
    /// <param name="options">Thresholds (validated here).</param>
    /// <param name="now">Decision time (pass replay-safe time from orchestrations).</param>
    public static GateDecision Decide(
        ModelMetrics candidate,
        ModelMetrics? production,
        GateOptions? options = null,
        DateTimeOffset? now = null
    )
    {
        ArgumentNullException.ThrowIfNull(candidate);
        options = (options ?? new GateOptions()).Validate();
        bool higher = options.IsHigherBetter;
        string metric = options.PrimaryMetric;
        var failures = new List<string>();
        var notes = new List<string>();

        if (!TryGet(candidate.Overall, metric, out double cand))
        {
            return new GateDecision
            {
                Passed = false,
                PrimaryMetric = metric,
                HigherIsBetter = higher,
                Options = options,
                DecidedAt = now ?? DateTimeOffset.UtcNow,
                Reasons =
                [
                    $"The candidate has no '{metric}' metric (has: {string.Join(", ", candidate.Overall.Keys.Order())}).",
                ],
            };
        }

        if (options.Bound is double bound)
        {
            bool ok = higher ? cand >= bound : cand <= bound;
            (ok ? notes : failures).Add(
                $"{metric} {F(cand)} {(ok ? "meets" : "misses")} the required {(higher ? "minimum" : "maximum")} {F(bound)}."
            );
        }

        double? prod = null,
            improvement = null,
            relative = null;
        var slices = new List<SliceCheck>();
        if (production is null || !TryGet(production.Overall, metric, out double p))
        {
            notes.Add(
                production is null
                    ? "No production model: the first model passes on its own merits."
                    : $"Production has no '{metric}' metric: compared on bounds only."
            );
        }
        else
        {
            prod = p;
            improvement = higher ? cand - p : p - cand;
            relative = Math.Abs(p) > 1e-12 ? improvement / Math.Abs(p) : null;
            bool absOk = improvement >= options.MinAbsoluteImprovement - 1e-12;
            bool relOk =
                options.MinRelativeImprovement <= 0
                || (relative is double r && r >= options.MinRelativeImprovement - 1e-12);
            string dir = higher ? "higher is better" : "lower is better";
            if (absOk && relOk)
                notes.Add(
                    $"{metric} {F(cand)} vs production {F(p)} ({dir}): improvement {F(improvement.Value)} meets the margin (absolute ≥ {F(options.MinAbsoluteImprovement)}, relative ≥ {F(options.MinRelativeImprovement)})."
                );
            else
                failures.Add(
                    $"{metric} {F(cand)} vs production {F(p)} ({dir}): improvement {F(improvement.Value)}{(relative is double rr ? $" ({F(rr * 100)}%)" : "")} is below the required margin (absolute ≥ {F(options.MinAbsoluteImprovement)}, relative ≥ {F(options.MinRelativeImprovement)})."
                );

            if (options.MaxSliceDrop is double maxDrop && candidate.Slices is not null && production.Slices is not null)
            {
                foreach (var (slice, candSlice) in candidate.Slices.OrderBy(s => s.Key, StringComparer.Ordinal))
                {
                    if (!production.Slices.TryGetValue(slice, out var prodSlice))
                        continue;
                    if (!TryGet(candSlice, metric, out double cs) || !TryGet(prodSlice, metric, out double ps))
                        continue;
                    double drop = higher ? ps - cs : cs - ps;
                    bool ok = drop <= maxDrop + 1e-12;
                    slices.Add(new SliceCheck(slice, cs, ps, drop, ok));
                    if (!ok)
                        failures.Add(
                            $"Slice '{slice}': {metric} {F(cs)} vs production {F(ps)} worsens by {F(drop)}, more than the allowed {F(maxDrop)}."
                        );
                }
                if (slices.Count > 0 && slices.All(s => s.Passed))
                    notes.Add($"{slices.Count} slice(s) within the allowed drop of {F(maxDrop)}.");
            }
        }

        return new GateDecision
        {
            Passed = failures.Count == 0,
            Reasons = [.. failures, .. notes],
            PrimaryMetric = metric,
            HigherIsBetter = higher,
            Candidate = cand,
            Production = prod,
            Improvement = improvement,
            RelativeImprovement = relative,
            Slices = slices,
            Options = options,
            DecidedAt = now ?? DateTimeOffset.UtcNow,
        };
    }

    private static bool TryGet(Dictionary<string, double> metrics, string name, out double value)
    {
        if (metrics.TryGetValue(name, out value) && double.IsFinite(value))
            return true;
        foreach (var (k, v) in metrics)
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase) && double.IsFinite(v))
            {
                value = v;
                return true;
            }
        value = double.NaN;
        return false;
    }

    private static string F(double v) => v.ToString("0.#####", CultureInfo.InvariantCulture);
}
