using System.Text.Json;
using Mlops.Pipelines.Configuration;

namespace Mlops.Pipelines.Sweeps;

/// <summary>
/// Turns a sweep configuration into concrete trials. Deterministic for a seed, because the orchestrator that calls it
/// is replayed: the same config must always give the same trials.
/// </summary>
public static class SweepPlanner
{
    /// <summary>Rungs of successive halving for the adaptive method: each keeps the best third and triples the
    /// budget.</summary>
    public const int AdaptiveEta = 3;

    /// <summary>Trials for grid (full cartesian product, capped) or random (independent draws) search.</summary>
    public static IReadOnlyList<Dictionary<string, JsonElement>> Plan(
        SweepConfig sweep,
        Dictionary<string, JsonElement>? baseParams,
        int seed
    )
    {
        var names = sweep.Parameters.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var trials = new List<Dictionary<string, JsonElement>>();
        if (sweep.Method == "grid")
        {
            var axes = names.Select(n => Values(n, sweep.Parameters[n])).ToList();
            foreach (var combo in Cartesian(axes))
            {
                if (trials.Count >= sweep.MaxTrials)
                    break;
                trials.Add(Merge(baseParams, names, combo));
            }
            return trials;
        }
        var space = new SearchSpace(sweep.Parameters);
        var random = new Random(seed);
        var seen = new HashSet<string>();
        for (int attempt = 0; trials.Count < sweep.MaxTrials && attempt < sweep.MaxTrials * 20; attempt++)
        {
            var trial = space.ToParams(baseParams, space.DrawInternal(random));
            if (seen.Add(JsonSerializer.Serialize(trial)))
                trials.Add(trial);
        }
        return trials;
    }

    /// <summary>Budget (boosting rounds) for a rung of adaptive search, from the full budget.</summary>
    public static int RungBudget(int fullRounds, int rung, int rungs) =>
        Math.Max(5, (int)Math.Round(fullRounds / Math.Pow(AdaptiveEta, rungs - 1 - rung)));

    public static int RungCount(int trials) =>
        trials >= 9 ? 3
        : trials >= 3 ? 2
        : 1;

    private static List<JsonElement> Values(string name, JsonElement spec) =>
        spec.ValueKind switch
        {
            JsonValueKind.Array => spec.EnumerateArray().ToList(),
            JsonValueKind.Object => throw new ArgumentException(
                $"sweep parameter '{name}': grid search needs a list of values, e.g. [0.05, 0.1], not a range."
            ),
            _ => [spec],
        };

    private static Dictionary<string, JsonElement> Merge(
        Dictionary<string, JsonElement>? baseParams,
        List<string> names,
        IReadOnlyList<JsonElement> values
    )
    {
        var d = baseParams is null
            ? new Dictionary<string, JsonElement>()
            : new Dictionary<string, JsonElement>(baseParams);
        for (int i = 0; i < names.Count; i++)
            d[names[i]] = values[i];
        return d;
    }

    private static IEnumerable<IReadOnlyList<JsonElement>> Cartesian(List<List<JsonElement>> axes)
    {
        IEnumerable<IReadOnlyList<JsonElement>> acc = [Array.Empty<JsonElement>()];
        foreach (var axis in axes)
            acc = acc.SelectMany(prefix => axis.Select(v => (IReadOnlyList<JsonElement>)[.. prefix, v]));
        return acc;
    }
}
