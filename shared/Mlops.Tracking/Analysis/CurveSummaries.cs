namespace Mlops.Tracking;

/// <summary>Summaries of per-round curves: best/last/min/max per metric, and the value at a chosen step.</summary>
public static class CurveSummaries
{
    /// <summary>
    /// Summarizes each curve metric's validation values (training values when the run had no validation split), so
    /// the runs table can show the best round and not only the last one.
    /// </summary>
    public static Dictionary<string, CurveSummary> Summarize(IReadOnlyList<CurvePoint> curve)
    {
        var result = new Dictionary<string, CurveSummary>(StringComparer.Ordinal);
        foreach (var group in curve.GroupBy(p => p.Metric ?? "loss", StringComparer.Ordinal))
        {
            bool higher = MetricDirection.HigherIsBetter(group.Key);
            double best = double.NaN,
                min = double.PositiveInfinity,
                max = double.NegativeInfinity,
                last = double.NaN;
            int bestRound = 0;
            foreach (var p in group.OrderBy(p => p.Round))
            {
                double v = p.Validation ?? p.Train;
                if (!double.IsFinite(v))
                    continue;
                last = v;
                min = Math.Min(min, v);
                max = Math.Max(max, v);
                if (double.IsNaN(best) || (higher ? v > best : v < best))
                {
                    best = v;
                    bestRound = p.Round;
                }
            }
            if (!double.IsNaN(best))
                result[group.Key] = new CurveSummary(best, last, min, max, bestRound);
        }
        return result;
    }

    /// <summary>
    /// The curve point at <paramref name="step"/>, or at the nearest earlier round when that round was not recorded
    /// (a run that stopped early keeps its last value); null when the curve starts after the step.
    /// </summary>
    public static CurvePoint? AtStep(IReadOnlyList<CurvePoint> curve, int step)
    {
        CurvePoint? found = null;
        foreach (var p in curve)
            if (p.Round <= step && (found is null || p.Round > found.Round))
                found = p;
        return found;
    }
}
