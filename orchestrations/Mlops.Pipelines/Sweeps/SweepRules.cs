using System.Text.Json;
using Mlops.Pipelines.Configuration;

namespace Mlops.Pipelines.Sweeps;

/// <summary>Checks of the <c>sweep</c> section beyond its shape, each phrased as what to write instead.</summary>
public static class SweepRules
{
    /// <summary>Metrics that are not validation metrics but still valid objectives.</summary>
    public const string PredictLatency = "predict_latency_us";
    public const string TrainSeconds = "train_seconds";

    public static IEnumerable<string> Problems(
        SweepConfig sweep,
        string trainer,
        IReadOnlyDictionary<string, JsonElement>? baseParams
    )
    {
        if (!SweepConfig.Methods.Contains(sweep.Method))
            yield return $"\"sweep.method\" is \"{sweep.Method}\"; use {Quoted(SweepConfig.Methods)}";
        if (sweep.Parallelism < 1)
            yield return $"\"sweep.parallelism\" is {sweep.Parallelism}; use 1 or more";
        if (sweep.NStartup is < 1)
            yield return $"\"sweep.nStartup\" is {sweep.NStartup}; use 1 or more";
        if (sweep.Gamma is <= 0 or >= 1)
            yield return $"\"sweep.gamma\" is {sweep.Gamma}; use a share between 0 and 1, e.g. 0.25";
        string? spaceProblem = null;
        try
        {
            _ = new SearchSpace(sweep.Parameters);
        }
        catch (ArgumentException e)
        {
            spaceProblem = e.Message.TrimEnd('.');
        }
        catch (InvalidOperationException e)
        {
            spaceProblem = $"a sweep range has a non-numeric bound ({e.Message.TrimEnd('.')})";
        }
        if (spaceProblem is not null)
            yield return spaceProblem;
        if (
            sweep.Method == "grid"
            && sweep.Parameters.FirstOrDefault(p => p.Value.ValueKind == JsonValueKind.Object) is { Key: { } ranged }
        )
            yield return $"\"sweep.parameters.{ranged}\" is a range, which grid search cannot enumerate; give a list of values, or use \"random\" or \"bayes\"";

        if (sweep.EarlyTerminate is { } et)
        {
            if (!EarlyTerminateConfig.Types.Contains(et.Type))
                yield return $"\"sweep.earlyTerminate.type\" is \"{et.Type}\"; use {Quoted(EarlyTerminateConfig.Types)}";
            if (et.MinIter < 1)
                yield return $"\"sweep.earlyTerminate.minIter\" is {et.MinIter}; use 1 or more boosting rounds";
            if (et.Eta < 2)
                yield return $"\"sweep.earlyTerminate.eta\" is {et.Eta}; use 2 or more (3 is usual)";
            if (sweep.Method == "adaptive")
                yield return "\"sweep.earlyTerminate\" does not combine with \"method\": \"adaptive\", which already stops trials at its own rungs; use \"random\" or \"bayes\"";
            // Rounds are what rungs count: only boosted trees have them, and only our engine can stop between two.
            if (!string.Equals(trainer, "gbdt", StringComparison.OrdinalIgnoreCase))
                yield return $"\"sweep.earlyTerminate\" needs \"trainer\": \"gbdt\" (it is \"{trainer}\"): rungs count boosting rounds";
            if (
                baseParams is not null
                && baseParams.TryGetValue("engine", out var engine)
                && engine.ValueKind == JsonValueKind.String
                && engine.GetString() == "lightgbm"
            )
                yield return "\"sweep.earlyTerminate\" needs \"params.engine\" \"mlops\" or \"auto\": the lightgbm engine cannot stop between rounds";
        }
        foreach (var objective in sweep.Objectives ?? [])
        {
            if (string.IsNullOrWhiteSpace(objective.Metric))
                yield return "a \"sweep.objectives\" entry has no \"metric\"; e.g. {\"metric\": \"auc\", \"goal\": \"max\"}";
            if (!ObjectiveConfig.Goals.Contains(objective.Goal))
                yield return $"\"sweep.objectives\" goal \"{objective.Goal}\" of \"{objective.Metric}\"; use {Quoted(ObjectiveConfig.Goals)}";
        }
    }

    private static string Quoted(IEnumerable<string> values)
    {
        var list = values.Select(v => $"\"{v}\"").ToList();
        return string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }
}
