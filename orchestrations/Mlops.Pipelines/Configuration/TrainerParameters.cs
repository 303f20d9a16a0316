using Mlops.ML.Gbdt;
using Mlops.ML.Linear;
using Mlops.ML.MlNet;

namespace Mlops.Pipelines.Configuration;

/// <summary>
/// Which trainer reads which hyperparameter, so a configuration never tunes or records a parameter the trained model
/// ignored: a sweep with <c>"trainer": "auto"</c> trains the trainer its parameters belong to, a parameter of another
/// trainer is refused when the config is loaded, and a trial records only the parameters its trainer read.
/// </summary>
public static class TrainerParameters
{
    /// <summary>The trainers in the order an ambiguous tree parameter prefers them (boosted trees first: the
    /// default).</summary>
    private static readonly (string Trainer, IReadOnlyList<string> Names)[] Owners =
    [
        ("gbdt", GbdtOptions.Names),
        ("forest", ForestOptions.Names),
        ("linear", LinearOptions.Names),
    ];

    /// <summary>
    /// The trainers that read <paramref name="key"/>: a <c>gbdt.</c>/<c>linear.</c>/<c>forest.</c> prefix names one,
    /// otherwise every trainer that knows the name. Empty for a name no trainer knows (training reports those).
    /// </summary>
    public static IReadOnlyList<string> TrainersOf(string key)
    {
        foreach (var (trainer, names) in Owners)
            if (key.StartsWith(trainer + ".", StringComparison.Ordinal))
                return names.Contains(key[(trainer.Length + 1)..]) ? [trainer] : [];
        return [.. Owners.Where(o => o.Names.Contains(key)).Select(o => o.Trainer)];
    }

    /// <summary>True when <paramref name="trainer"/> (gbdt, linear or forest) reads <paramref name="key"/>.</summary>
    public static bool IsReadBy(string trainer, string key) =>
        TrainersOf(key).Contains(trainer, StringComparer.OrdinalIgnoreCase);

    /// <summary>The parameters of <paramref name="parameters"/> that <paramref name="trainer"/> read (what a run
    /// records).</summary>
    public static Dictionary<string, TValue> ReadBy<TValue>(
        string trainer,
        IReadOnlyDictionary<string, TValue> parameters
    ) =>
        parameters
            .Where(p => TrainersOf(p.Key) is { Count: 0 } || IsReadBy(trainer, p.Key))
            .ToDictionary(p => p.Key, p => p.Value);

    /// <summary>
    /// Checks <paramref name="trainer"/> against the parameters and, for <c>auto</c> with a sweep, picks the trainer
    /// the swept and fixed parameters belong to: gbdt for tree parameters (which the forest shares), linear for the
    /// optimizer's, auto still when every trainer reads them (e.g. <c>threads</c>) or gbdt and linear both do
    /// (<c>l2</c>). Returns the trainer to train and the problems, each naming the parameter and the trainer.
    /// </summary>
    public static (string Trainer, List<string> Problems) Resolve(
        string trainer,
        IEnumerable<string> fixedParams,
        IEnumerable<string>? sweptParams
    )
    {
        var problems = new List<string>();
        var keys = fixedParams
            .Select(k => (Setting: "params." + k, Key: k))
            .Concat((sweptParams ?? []).Select(k => (Setting: "sweep.parameters." + k, Key: k)))
            .Select(p => (p.Setting, p.Key, Trainers: TrainersOf(p.Key)))
            .Where(p => p.Trainers.Count > 0) // unknown names: training names them and lists the known ones
            .ToList();
        if (!string.Equals(trainer, "auto", StringComparison.OrdinalIgnoreCase))
        {
            foreach (
                var (setting, _, trainers) in keys.Where(p =>
                    !p.Trainers.Contains(trainer, StringComparer.OrdinalIgnoreCase)
                )
            )
                problems.Add(
                    $"\"{setting}\" is a {string.Join("/", trainers)} parameter and \"trainer\" is \"{trainer}\", which ignores it; "
                        + $"remove it or set \"trainer\": \"{trainers[0]}\""
                );
            return (trainer, problems);
        }
        if (sweptParams is null)
            return (trainer, problems); // a single auto run records only what the winner read
        var candidates = Owners.Select(o => o.Trainer).Where(t => keys.All(p => p.Trainers.Contains(t))).ToList();
        if (candidates.Count == 0)
        {
            var byTrainer = keys.GroupBy(p => string.Join("/", p.Trainers))
                .Select(g => $"{string.Join(", ", g.Select(p => $"\"{p.Setting}\""))} ({g.Key})");
            problems.Add(
                $"with \"trainer\": \"auto\" a sweep tunes one trainer, but its parameters belong to different ones: {string.Join("; ", byTrainer)}; "
                    + "set \"trainer\" and keep only its parameters"
            );
            return (trainer, problems);
        }
        // Tree parameters are read by both tree trainers; the forest is the weaker one on every benchmark, so gbdt
        // trains.
        string resolved =
            candidates.Count == Owners.Length || (candidates.Contains("gbdt") && candidates.Contains("linear"))
                ? "auto"
                : candidates[0];
        return (resolved, problems);
    }
}
