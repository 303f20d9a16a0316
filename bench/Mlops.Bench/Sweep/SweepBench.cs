using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Training;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Sweeps;

namespace Mlops.Bench.Sweep;

/// <summary>
/// Bayes (TPE) with N trials against random search with 2N trials, same search space, same data, fixed seeds: the
/// best validation metric each finds. Trials run one after another here (the pipeline runs them in parallel batches;
/// TPE then proposes per batch, which this bench reproduces with <c>--batch</c>).
/// </summary>
public static class SweepBench
{
    private sealed record Dataset(string Name, string Path, string Target, MlTask Task);

    /// <summary>A GBDT search space a data scientist would write: shape, step size, regularization, sampling.</summary>
    private const string Space = """
        {"learning_rate":{"min":0.01,"max":0.5,"log":true},"num_leaves":{"min":4,"max":256,"int":true,"log":true},
         "min_data_in_leaf":{"min":2,"max":500,"int":true,"log":true},"l2":{"min":0.001,"max":100,"log":true},
         "feature_fraction":{"min":0.3,"max":1.0}}
        """;

    public static int Run(string[] args)
    {
        string startLoad = Ml.MlBench.Load();
        int trials = IntArg(args, "--trials", 10), seeds = IntArg(args, "--seeds", 3), batch = IntArg(args, "--batch", 1), rounds = IntArg(args, "--rounds", 100);
        string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var work = Path.Combine(Path.GetTempPath(), "mlbench");
        Directory.CreateDirectory(work);
        var datasets = new List<Dataset>
        {
            new("synth_100k", Ml.MlBench.EnsureSynth(work, 100_000), "target", MlTask.Binary),
            new("diamonds", "/work/shared/datasets/diamonds.csv", "price", MlTask.Regression),
        };
        if (only is not null) datasets.RemoveAll(d => d.Name != only);
        var parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Space)!;
        var baseParams = new Dictionary<string, JsonElement> { ["num_rounds"] = JsonSerializer.SerializeToElement(rounds) };
        var lines = new List<string>();
        foreach (var ds in datasets)
        {
            var all = CsvTableReader.ReadFile(ds.Path);
            var (train, validation) = Split(all, 42);
            int bayesWins = 0;
            foreach (int seed in Enumerable.Range(1, seeds))
            {
                var clock = Stopwatch.StartNew();
                var (bayes, metric, higher) = Bayes(train, validation, ds, parameters, baseParams, trials, batch, seed);
                double bayesSeconds = clock.Elapsed.TotalSeconds;
                clock.Restart();
                var sweep = new SweepConfig { Method = "random", MaxTrials = 2 * trials, Parameters = parameters };
                var random = SweepPlanner.Plan(sweep, baseParams, seed).Select(p => Score(train, validation, ds, p, seed).Value).ToList();
                double randomSeconds = clock.Elapsed.TotalSeconds;
                double bestBayes = higher ? bayes.Max() : bayes.Min(), bestRandom = higher ? random.Max() : random.Min();
                bool atLeastAsGood = higher ? bestBayes >= bestRandom : bestBayes <= bestRandom;
                if (atLeastAsGood) bayesWins++;
                string line = $"| {ds.Name} | {seed} | {metric} | {bestBayes:0.#####} ({trials}) | {bestRandom:0.#####} ({2 * trials}) | {(atLeastAsGood ? "yes" : "no")} | {bayesSeconds:F0} / {randomSeconds:F0} | {Ml.MlBench.Load()} |";
                Console.WriteLine(line);
                lines.Add(line);
            }
            lines.Add($"| {ds.Name} | all | | | | bayes at least as good in {bayesWins}/{seeds} | | |");
        }
        Console.WriteLine();
        Console.WriteLine($"| dataset | seed | validation metric | best, bayes (trials) | best, random (trials) | bayes ≥ random | seconds bayes / random | load 1-min |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var l in lines) Console.WriteLine(l);
        Console.WriteLine($"- {trials} bayes trials (nStartup {new SweepConfig { MaxTrials = trials }.StartupTrials}, batch {batch}) vs {2 * trials} random; num_rounds {rounds}; " +
            $"machine: {Environment.ProcessorCount} cores, shared; load average at start {startLoad}, at end {Ml.MlBench.Load()}");
        return 0;
    }

    private static (List<double> Values, string Metric, bool Higher) Bayes(DataTable train, DataTable validation, Dataset ds,
        Dictionary<string, JsonElement> parameters, Dictionary<string, JsonElement> baseParams, int trials, int batch, int seed)
    {
        var space = new SearchSpace(parameters);
        var settings = new TpeSettings(new SweepConfig { MaxTrials = trials }.StartupTrials);
        var history = new List<Observation>();
        var values = new List<double>();
        string metric = "";
        bool higher = true;
        while (values.Count < trials)
        {
            foreach (var point in TpeSampler.Propose(space, history, Math.Min(batch, trials - values.Count), seed, values.Count, settings))
            {
                var score = Score(train, validation, ds, space.ToParams(baseParams, point), seed);
                (metric, higher) = (score.Metric, score.Higher);
                values.Add(score.Value);
                history.Add(new Observation(point, higher ? -score.Value : score.Value));
            }
        }
        return (values, metric, higher);
    }

    private static (double Value, string Metric, bool Higher) Score(DataTable train, DataTable validation, Dataset ds, Dictionary<string, JsonElement> p, int seed)
    {
        var spec = new TrainingSpec(ds.Target, ds.Task)
        {
            Trainer = TrainerKind.Gbdt, Seed = seed,
            Options = p.ToDictionary(kv => kv.Key, kv => (object)(kv.Value.TryGetInt64(out long l) ? l : kv.Value.GetDouble())),
        };
        var report = Evaluator.Evaluate(ModelTrainer.Train(train, spec).Model, validation);
        return (report.Primary, report.PrimaryMetric, report.HigherIsBetter);
    }

    private static (DataTable Train, DataTable Validation) Split(DataTable t, int seed)
    {
        var rng = new Random(seed);
        var perm = Enumerable.Range(0, t.RowCount).OrderBy(_ => rng.Next()).ToArray();
        int n = t.RowCount / 5;
        return (t.SelectRows(perm.Skip(n).Order().ToArray()), t.SelectRows(perm.Take(n).Order().ToArray()));
    }

    private static int IntArg(string[] args, string name, int fallback) =>
        args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
