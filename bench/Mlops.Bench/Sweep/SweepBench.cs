using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mlops.Cli;
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
        int trials = IntArg(args, "--trials", 10),
            seeds = IntArg(args, "--seeds", 3),
            batch = IntArg(args, "--batch", 1),
            rounds = IntArg(args, "--rounds", 100);
        string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var tpe = new TpeSettings(
            IntArg(args, "--startup", new SweepConfig { MaxTrials = trials }.StartupTrials),
            DoubleArg(args, "--gamma", 0.25)
        );
        bool skipRandom = args.Contains("--skip-random");
        var work = Path.Combine(Path.GetTempPath(), "mlbench");
        Directory.CreateDirectory(work);
        var datasets = new List<Dataset>
        {
            new("synth_100k", Ml.MlBench.EnsureSynth(work, 100_000), "target", MlTask.Binary),
            new("diamonds", "/work/shared/datasets/diamonds.csv", "price", MlTask.Regression),
        };
        if (only is not null)
            datasets.RemoveAll(d => d.Name != only);
        // Progress on stderr (trials done of this dataset and seed, ETA); the tables on stdout are unchanged.
        var progressMode = CliProgress.ForStderr(quiet: args.Contains("--quiet"));
        if (args.Contains("--early"))
            return CliProgress.Run(progressMode, addLine =>
                Early(datasets, 2 * trials, seeds, rounds, startLoad, addLine("early termination", 1))
            );
        return CliProgress.Run(progressMode, addLine =>
            Compare(datasets, trials, seeds, batch, rounds, tpe, skipRandom, startLoad, addLine("sweep", 1))
        );
    }

    /// <summary>Bayes with <paramref name="trials"/> trials against random search with twice as many, per dataset and
    /// seed.</summary>
    private static int Compare(
        List<Dataset> datasets,
        int trials,
        int seeds,
        int batch,
        int rounds,
        TpeSettings tpe,
        bool skipRandom,
        string startLoad,
        IProgressLine progress
    )
    {
        var parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Space)!;
        var baseParams = new Dictionary<string, JsonElement>
        {
            ["num_rounds"] = JsonSerializer.SerializeToElement(rounds),
        };
        var lines = new List<string>();
        foreach (var ds in datasets)
        {
            var all = CsvTableReader.ReadFile(ds.Path);
            var (train, validation) = Split(all, 42);
            int bayesWins = 0;
            foreach (int seed in Enumerable.Range(1, seeds))
            {
                int done = 0;
                void TrialDone() => progress.Report(++done);
                progress.Report(
                    0,
                    trials + (skipRandom ? 0 : 2 * trials),
                    $"sweep {ds.Name} seed {seed} (bayes, then random)"
                );
                var clock = Stopwatch.StartNew();
                var (bayes, metric, higher) = Bayes(
                    train,
                    validation,
                    ds,
                    parameters,
                    baseParams,
                    trials,
                    batch,
                    seed,
                    tpe,
                    TrialDone
                );
                double bayesSeconds = clock.Elapsed.TotalSeconds;
                clock.Restart();
                var sweep = new SweepConfig
                {
                    Method = "random",
                    MaxTrials = 2 * trials,
                    Parameters = parameters,
                };
                var random = skipRandom
                    ? [double.NaN]
                    : SweepPlanner
                        .Plan(sweep, baseParams, seed)
                        .Select(p =>
                        {
                            double value = Score(train, validation, ds, p, seed).Value;
                            TrialDone();
                            return value;
                        })
                        .ToList();
                double randomSeconds = clock.Elapsed.TotalSeconds;
                double bestBayes = higher ? bayes.Max() : bayes.Min(),
                    bestRandom = higher ? random.Max() : random.Min();
                bool atLeastAsGood = higher ? bestBayes >= bestRandom : bestBayes <= bestRandom;
                if (atLeastAsGood)
                    bayesWins++;
                string line =
                    $"| {ds.Name} | {seed} | {metric} | {bestBayes:0.#####} ({trials}) | {bestRandom:0.#####} ({2 * trials}) | {(atLeastAsGood ? "yes" : "no")} | {bayesSeconds:F0} / {randomSeconds:F0} | {Ml.MlBench.Load()} |";
                Console.WriteLine(line);
                lines.Add(line);
            }
            lines.Add($"| {ds.Name} | all | | | | bayes at least as good in {bayesWins}/{seeds} | | |");
        }
        Console.WriteLine();
        Console.WriteLine(
            $"| dataset | seed | validation metric | best, bayes (trials) | best, random (trials) | bayes ≥ random | seconds bayes / random | load 1-min |"
        );
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var l in lines)
            Console.WriteLine(l);
        Console.WriteLine(
            $"- {trials} bayes trials (nStartup {tpe.StartupTrials}, gamma {tpe.Gamma}, batch {batch}) vs {2 * trials} random; num_rounds {rounds}; "
                + $"machine: {Environment.ProcessorCount} cores, shared; load average at start {startLoad}, at end {Ml.MlBench.Load()}"
        );
        return 0;
    }

    /// <summary>
    /// The same random trials with and without hyperband (minIter 10, eta 3), on our engine in both runs (the engine
    /// early termination uses), one after another: rounds trained, seconds, and the best validation metric.
    /// </summary>
    private static int Early(
        List<Dataset> datasets,
        int trials,
        int seeds,
        int rounds,
        string startLoad,
        IProgressLine progress
    )
    {
        var parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Space)!;
        var baseParams = new Dictionary<string, JsonElement>
        {
            ["num_rounds"] = JsonSerializer.SerializeToElement(rounds),
            ["engine"] = JsonSerializer.SerializeToElement("mlops"),
        };
        var early = new EarlyTerminateConfig
        {
            Type = "hyperband",
            MinIter = 10,
            Eta = 3,
        };
        Console.WriteLine(
            "| dataset | seed | trials | early termination | rounds trained | pruned | seconds | best validation | load 1-min |"
        );
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var ds in datasets)
        {
            var (train, validation) = Split(CsvTableReader.ReadFile(ds.Path), 42);
            foreach (int seed in Enumerable.Range(1, seeds))
            {
                var planned = SweepPlanner.Plan(
                    new SweepConfig
                    {
                        Method = "random",
                        MaxTrials = trials,
                        Parameters = parameters,
                    },
                    baseParams,
                    seed
                );
                int done = 0;
                progress.Report(0, 2 * planned.Count, $"early termination {ds.Name} seed {seed} (off, then hyperband)");
                foreach (bool on in new[] { false, true })
                {
                    var board = new MemoryRungBoard();
                    var clock = Stopwatch.StartNew();
                    int roundsTrained = 0,
                        pruned = 0;
                    var scores = new List<double>();
                    bool higher = true;
                    foreach (var (p, i) in planned.Select((p, i) => (p, i)))
                    {
                        var pruner = on
                            ? new TrialPruner(
                                early,
                                board,
                                $"t{i}",
                                ds.Task == MlTask.Regression ? "rmse" : "logloss",
                                rounds
                            )
                            : null;
                        var spec = Spec(ds, p, seed) with
                        {
                            Validation = validation,
                            ContinueAfterRound = pruner is null ? null : m => pruner.Continue(m.Round, m.Validation),
                        };
                        var result = ModelTrainer.Train(train, spec);
                        progress.Report(++done);
                        roundsTrained += result.Curve.Count;
                        if (pruner?.PrunedAtRound is not null)
                        {
                            pruned++;
                            continue;
                        }
                        var report = Evaluator.Evaluate(result.Model, validation);
                        scores.Add(report.Primary);
                        higher = report.HigherIsBetter;
                    }
                    Console.WriteLine(
                        $"| {ds.Name} | {seed} | {trials} | {(on ? "hyperband 10/3" : "off")} | {roundsTrained} | {pruned} | {clock.Elapsed.TotalSeconds:F0} | "
                            + $"{(higher ? scores.Max() : scores.Min()):0.#####} | {Ml.MlBench.Load()} |"
                    );
                }
            }
        }
        Console.WriteLine(
            $"- num_rounds {rounds}, engine mlops in both runs; machine: {Environment.ProcessorCount} cores, shared; load average at start {startLoad}, at end {Ml.MlBench.Load()}"
        );
        return 0;
    }

    private static (List<double> Values, string Metric, bool Higher) Bayes(
        DataTable train,
        DataTable validation,
        Dataset ds,
        Dictionary<string, JsonElement> parameters,
        Dictionary<string, JsonElement> baseParams,
        int trials,
        int batch,
        int seed,
        TpeSettings settings,
        Action trialDone
    )
    {
        var space = new SearchSpace(parameters);
        var history = new List<Observation>();
        var values = new List<double>();
        string metric = "";
        bool higher = true;
        while (values.Count < trials)
        {
            foreach (
                var point in TpeSampler.Propose(
                    space,
                    history,
                    Math.Min(batch, trials - values.Count),
                    seed,
                    values.Count,
                    settings
                )
            )
            {
                var score = Score(train, validation, ds, space.ToParams(baseParams, point), seed);
                (metric, higher) = (score.Metric, score.Higher);
                values.Add(score.Value);
                trialDone();
                history.Add(new Observation(point, higher ? -score.Value : score.Value));
            }
        }
        return (values, metric, higher);
    }

    private static (double Value, string Metric, bool Higher) Score(
        DataTable train,
        DataTable validation,
        Dataset ds,
        Dictionary<string, JsonElement> p,
        int seed
    )
    {
        var report = Evaluator.Evaluate(ModelTrainer.Train(train, Spec(ds, p, seed)).Model, validation);
        return (report.Primary, report.PrimaryMetric, report.HigherIsBetter);
    }

    private static TrainingSpec Spec(Dataset ds, Dictionary<string, JsonElement> p, int seed) =>
        new(ds.Target, ds.Task)
        {
            Trainer = TrainerKind.Gbdt,
            Seed = seed,
            Options = p.ToDictionary(
                kv => kv.Key,
                kv =>
                    kv.Value.ValueKind == JsonValueKind.String
                        ? kv.Value.GetString()!
                        : (object)(kv.Value.TryGetInt64(out long l) ? l : kv.Value.GetDouble())
            ),
        };

    private static (DataTable Train, DataTable Validation) Split(DataTable t, int seed)
    {
        var rng = new Random(seed);
        var perm = Enumerable.Range(0, t.RowCount).OrderBy(_ => rng.Next()).ToArray();
        int n = t.RowCount / 5;
        return (t.SelectRows(perm.Skip(n).Order().ToArray()), t.SelectRows(perm.Take(n).Order().ToArray()));
    }

    private static double DoubleArg(string[] args, string name, double fallback) =>
        args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v
            ? double.Parse(v, CultureInfo.InvariantCulture)
            : fallback;

    private static int IntArg(string[] args, string name, int fallback) =>
        args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v
            ? int.Parse(v, CultureInfo.InvariantCulture)
            : fallback;
}
