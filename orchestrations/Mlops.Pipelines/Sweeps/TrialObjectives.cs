using Mlops.Data.Tabular;
using Mlops.ML.Models;
using Mlops.Pipelines.Configuration;

namespace Mlops.Pipelines.Sweeps;

/// <summary>The values of a multi-objective sweep's objectives for one trained trial.</summary>
public static class TrialObjectives
{
    /// <summary>Single-row predictions timed for <see cref="SweepRules.PredictLatency"/> (after as many warm-up
    /// calls).</summary>
    public const int LatencySamples = 101;

    /// <summary>Objective → value; an objective naming no known metric is left out (the orchestrator reports it as a
    /// config error).</summary>
    public static Dictionary<string, double> Measure(
        IReadOnlyList<ObjectiveConfig> objectives,
        IReadOnlyDictionary<string, double> validationMetrics,
        double trainSeconds,
        Model model,
        DataTable validation
    )
    {
        var values = new Dictionary<string, double>();
        foreach (var objective in objectives)
        {
            if (objective.Metric == SweepRules.PredictLatency)
                values[objective.Metric] = PredictLatencyMicroseconds(model, validation);
            else if (objective.Metric == SweepRules.TrainSeconds)
                values[objective.Metric] = trainSeconds;
            else if (validationMetrics.TryGetValue(objective.Metric, out double v))
                values[objective.Metric] = v;
        }
        return values;
    }

    /// <summary>Median wall time of one-row predictions on validation rows, in microseconds: what a caller of /predict
    /// waits for the model.</summary>
    public static double PredictLatencyMicroseconds(Model model, DataTable validation)
    {
        if (validation.RowCount == 0)
            return 0;
        var rows = Enumerable
            .Range(0, LatencySamples)
            .Select(i => validation.SelectRows([i % validation.RowCount]))
            .ToList();
        foreach (var row in rows)
            model.PredictBatch(row);
        var times = new double[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            model.PredictBatch(rows[i]);
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
