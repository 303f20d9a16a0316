using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Mlops.Cli;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Training;

namespace Mlops.Bench.Ml;

/// <summary>
/// Trains our GBDT, linear and auto models and the Python peers (scikit-learn, XGBoost; via
/// shared/peers/train_peers.py) on the same train/test CSV files in one run, and prints train time, predict time and
/// test quality side by side.
/// </summary>
public static class MlBench
{
    private sealed record Dataset(
        string Name,
        string Path,
        string Target,
        MlTask Task,
        bool XgbShape = false,
        bool Auto = true
    );

    private sealed record Row(
        string Dataset,
        string Model,
        double TrainSeconds,
        double PredictSeconds,
        Dictionary<string, double> Quality,
        int TrainRows,
        int TestRows
    );

    private const string Shared = "/work/shared";
    private const string Python = "/usr/bin/python3";

    private static string StartLoad = "";

    /// <summary>1-minute load average: the machine is shared, so timings must be read against it.</summary>
    internal static string Load() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    public static int Run(string[] args)
    {
        StartLoad = Load();
        bool quick = args.Contains("--quick");
        bool skipPeers = args.Contains("--skip-peers");
        string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var work = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlbench");
        Directory.CreateDirectory(work);
        var repo = FindRepo();
        var datasets = new List<Dataset>
        {
            new("sk_iris", System.IO.Path.Combine(repo, "tests/data/sk_iris.csv"), "target", MlTask.Multiclass),
            new("sk_wine", System.IO.Path.Combine(repo, "tests/data/sk_wine.csv"), "target", MlTask.Multiclass),
            new(
                "sk_breast_cancer",
                System.IO.Path.Combine(repo, "tests/data/sk_breast_cancer.csv"),
                "target",
                MlTask.Binary
            ),
            new("sk_diabetes", System.IO.Path.Combine(repo, "tests/data/sk_diabetes.csv"), "target", MlTask.Regression),
            new("diamonds", $"{Shared}/datasets/diamonds.csv", "price", MlTask.Regression),
            new("synth_100k", EnsureSynth(work, 100_000), "target", MlTask.Binary, XgbShape: true),
        };
        // 1.25M rows: an 80/20 split trains on 1M and tests on 250k, as in issue 14.
        if (!quick)
            datasets.Add(
                new("synth_1m", EnsureSynth(work, 1_250_000), "target", MlTask.Binary, XgbShape: true, Auto: false)
            );
        if (only is not null)
            datasets.RemoveAll(d => d.Name != only);

        // Progress on stderr: models trained (and one step per dataset for the peers) of all datasets.
        int steps = datasets.Sum(d => Variants(d, trainRows: 0).Count() + (skipPeers ? 0 : 1));
        return CliProgress.Run(CliProgress.ForStderr(quiet: args.Contains("--quiet")), addLine =>
            Measure(datasets, work, skipPeers, addLine("ml", steps))
        );
    }

    private static int Measure(List<Dataset> datasets, string work, bool skipPeers, IProgressLine progress)
    {
        int done = 0;
        var rows = new List<Row>();
        var notes = new List<string>();
        foreach (var ds in datasets)
        {
            Console.Error.WriteLine($"== {ds.Name}");
            var sw = Stopwatch.StartNew();
            var all = CsvTableReader.ReadFile(ds.Path);
            double load = sw.Elapsed.TotalSeconds;
            notes.Add($"{ds.Name}: {all.RowCount:N0} rows × {all.Columns.Count - 1} features, CSV load {load:F2}s");
            var (train, test) = DataSplit.TrainTest(all, ds.Target, ds.Task, 0.2, 42);
            var trainPath = System.IO.Path.Combine(work, ds.Name + "_train.csv");
            var testPath = System.IO.Path.Combine(work, ds.Name + "_test.csv");
            CsvTableWriter.WriteFile(train, trainPath);
            CsvTableWriter.WriteFile(test, testPath);
            all = null!;
            GC.Collect();

            foreach (var (name, kind, options) in Variants(ds, train.RowCount))
            {
                progress.Report(done, description: $"ml {ds.Name}: {name}");
                var spec = new TrainingSpec(ds.Target, ds.Task)
                {
                    Trainer = kind,
                    Seed = 42,
                    Options = options,
                };
                sw.Restart();
                var result = ModelTrainer.Train(train, spec);
                double trainS = sw.Elapsed.TotalSeconds;
                sw.Restart();
                var preds = result.Model.PredictBatch(test);
                double predS = sw.Elapsed.TotalSeconds;
                var report = Evaluator.Evaluate(result.Model, test);
                var label =
                    kind == TrainerKind.Auto ? $"ours auto→{result.Trainer.ToName()}"
                    : kind == TrainerKind.Gbdt && options is null
                        ? $"{name} (→{result.Model.Metadata.Options["engine"]})"
                    : name;
                rows.Add(
                    new Row(ds.Name, label, trainS, predS, Pick(ds.Task, report.Metrics), train.RowCount, test.RowCount)
                );
                Console.Error.WriteLine($"   {label}: train {trainS:F3}s predict {predS:F4}s {Fmt(rows[^1].Quality)}");
                if (ds.Name == "synth_1m" && kind == TrainerKind.Gbdt && options is null)
                {
                    // Throughput on the whole 1M rows (train + test), and peak memory of the run so far.
                    var full = CsvTableReader.ReadFile(ds.Path);
                    result.Model.PredictBatch(test);
                    var proc = Process.GetCurrentProcess();
                    var cpu0 = proc.TotalProcessorTime;
                    sw.Restart();
                    var p = result.Model.PredictBatch(full);
                    double s = sw.Elapsed.TotalSeconds;
                    proc.Refresh();
                    double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
                    notes.Add(
                        $"synth_1m batch prediction: {full.RowCount:N0} rows in {s:F3}s wall = {full.RowCount / s / 1e6:F2} M rows/s; {cpu:F3} CPU-s = {full.RowCount / cpu / 1e6:F2} M rows per CPU-second ({result.Model.Metadata.BestIteration} trees)"
                    );
                    notes.Add(
                        $"peak working set after loading 1M×28, training and predicting: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MB"
                    );
                    full = null;
                    GC.Collect();
                }
                progress.Report(++done);
            }
            if (!skipPeers)
            {
                progress.Report(done, description: $"ml {ds.Name}: peers");
                foreach (var peer in RunPeers(trainPath, testPath, ds))
                    rows.Add(peer);
                progress.Report(++done);
            }
        }
        Print(rows, notes);
        return 0;
    }

    /// <summary>XGBoost's default tree shape (depth 6, learning rate 0.3) in LightGBM terms, for like-for-like
    /// rows.</summary>
    private static readonly Dictionary<string, object> XgbShape = new()
    {
        ["num_leaves"] = 63,
        ["max_depth"] = 6,
        ["learning_rate"] = 0.3,
        ["min_data_in_leaf"] = 100,
    };

    /// <summary>
    /// Each trainer at its defaults (GBDT's default engine, then the other engine explicitly), the forest where it
    /// applies, the linear model, XGBoost's shape on the synthetic sets, and auto where affordable.
    /// </summary>
    private static IEnumerable<(string Name, TrainerKind Kind, Dictionary<string, object>? Options)> Variants(
        Dataset ds,
        int trainRows
    )
    {
        string defaultEngine = new Mlops.ML.Gbdt.GbdtOptions().ResolvedEngine(ds.Task, trainRows);
        string otherEngine = defaultEngine == "lightgbm" ? "mlops" : "lightgbm";
        yield return ("ours gbdt defaults", TrainerKind.Gbdt, null);
        yield return ($"ours gbdt engine={otherEngine}", TrainerKind.Gbdt, new() { ["engine"] = otherEngine });
        if (ds.XgbShape)
            foreach (var engine in new[] { "lightgbm", "mlops" })
                yield return (
                    $"ours gbdt {engine}, xgb shape",
                    TrainerKind.Gbdt,
                    new(XgbShape) { ["engine"] = engine }
                );
        if (ds.Task != MlTask.Multiclass)
            yield return ("ours forest", TrainerKind.Forest, null);
        yield return ("ours linear", TrainerKind.Linear, null);
        if (ds.Auto)
            yield return ("ours auto", TrainerKind.Auto, null);
    }

    private static Dictionary<string, double> Pick(MlTask task, IReadOnlyDictionary<string, double> m) =>
        task switch
        {
            MlTask.Binary => new()
            {
                ["accuracy"] = m["accuracy"],
                ["auc"] = m["auc"],
                ["logloss"] = m["logloss"],
            },
            MlTask.Multiclass => new()
            {
                ["accuracy"] = m["accuracy"],
                ["macro_f1"] = m["macro_f1"],
                ["logloss"] = m["logloss"],
            },
            _ => new()
            {
                ["rmse"] = m["rmse"],
                ["mae"] = m["mae"],
                ["r2"] = m["r2"],
            },
        };

    private static string Fmt(Dictionary<string, double> q) =>
        string.Join(
            " ",
            q.Select(kv => $"{kv.Key}={kv.Value.ToString(kv.Value > 100 ? "F1" : "F4", CultureInfo.InvariantCulture)}")
        );

    private static IEnumerable<Row> RunPeers(string train, string test, Dataset ds)
    {
        var psi = new ProcessStartInfo(
            Python,
            [
                $"{Shared}/peers/train_peers.py",
                "--train",
                train,
                "--test",
                test,
                "--target",
                ds.Target,
                "--task",
                ds.Task.ToString().ToLowerInvariant(),
                "--threads",
                "2",
                "--json",
            ]
        )
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            Console.Error.WriteLine($"   peers failed: {stderr.Trim()}");
            yield break;
        }
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            var q = r.GetProperty("quality").EnumerateObject().ToDictionary(x => x.Name, x => x.Value.GetDouble());
            var row = new Row(
                ds.Name,
                "peer " + r.GetProperty("model").GetString(),
                r.GetProperty("train_s").GetDouble(),
                r.GetProperty("predict_s").GetDouble(),
                q,
                r.GetProperty("n_train").GetInt32(),
                r.GetProperty("n_test").GetInt32()
            );
            Console.Error.WriteLine(
                $"   {row.Model}: train {row.TrainSeconds:F3}s predict {row.PredictSeconds:F4}s {Fmt(q)}"
            );
            yield return row;
        }
    }

    private static void Print(List<Row> rows, List<string> notes)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| dataset | model | train s | predict s | quality (test) | vs best peer |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var group in rows.GroupBy(r => r.Dataset))
        {
            var peers = group.Where(r => r.Model.StartsWith("peer")).ToList();
            foreach (var r in group)
            {
                string cmp = "";
                if (!r.Model.StartsWith("peer") && peers.Count > 0)
                {
                    if (r.Quality.ContainsKey("rmse"))
                    {
                        var best = peers.Min(p => p.Quality["rmse"]);
                        cmp = $"rmse {(r.Quality["rmse"] / best - 1) * 100:+0.0;-0.0}%";
                    }
                    else
                    {
                        var key = r.Quality.ContainsKey("auc") ? "auc" : "accuracy";
                        var best = peers.Max(p => p.Quality[key]);
                        var bestAcc = peers.Max(p => p.Quality["accuracy"]);
                        cmp = $"{key} {(r.Quality[key] - best) * 100:+0.00;-0.00} pt";
                        if (key == "auc")
                            cmp += $", acc {(r.Quality["accuracy"] - bestAcc) * 100:+0.00;-0.00} pt";
                        var fastest = peers
                            .Where(p => p.Model.Contains("xgboost"))
                            .Select(p => p.TrainSeconds)
                            .DefaultIfEmpty(double.NaN)
                            .First();
                        if (!double.IsNaN(fastest))
                            cmp += $"; train ×{r.TrainSeconds / fastest:F2} of xgb";
                    }
                }
                sb.AppendLine(
                    $"| {r.Dataset} | {r.Model} | {r.TrainSeconds:F3} | {r.PredictSeconds:F4} | {Fmt(r.Quality)} | {cmp} |"
                );
            }
        }
        Console.WriteLine(sb.ToString());
        foreach (var n in notes)
            Console.WriteLine("- " + n);
        Console.WriteLine(
            $"- machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; peers: 2 threads; load average at start {StartLoad}, at end {Load()}"
        );
    }

    internal static string EnsureSynth(string work, int rows)
    {
        var path = System.IO.Path.Combine(work, $"synth_{rows}.csv");
        if (File.Exists(path))
            return path;
        Console.Error.WriteLine($"generating {path} …");
        using var p = Process.Start(
            new ProcessStartInfo(
                Python,
                [$"{Shared}/peers/make_synth.py", rows.ToString(CultureInfo.InvariantCulture), path]
            )
        )!;
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"make_synth.py failed for {rows} rows.");
        return path;
    }

    private static string FindRepo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "MlopsFunctions.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
