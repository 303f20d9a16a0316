using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.OutOfCore;
using Mlops.ML.Training;

namespace Mlops.Cli.Commands;

/// <summary><c>mlops train DATA.csv --target COL --task binary|multiclass|regression …</c>: trains, evaluates on a test
/// set, saves the model.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Argument<string>("data") { Description = "Training data (CSV with a header row)." };
        var target = new Option<string>("--target") { Description = "Column to predict.", Required = true };
        var task = new Option<string>("--task") { Description = "binary, multiclass or regression.", Required = true };
        task.AcceptOnlyFromAmong("binary", "multiclass", "regression");
        var trainer = new Option<string>("--trainer")
        {
            Description = "gbdt, linear, forest or auto (default gbdt).",
            DefaultValueFactory = _ => "gbdt",
        };
        trainer.AcceptOnlyFromAmong("gbdt", "linear", "forest", "auto");
        var test = new Option<string?>("--test")
        {
            Description = "Separate test data (CSV). Without it a stratified split of the data is used.",
        };
        var testFraction = new Option<double>("--test-fraction")
        {
            Description = "Share of rows held out for testing when --test is absent (default 0.2).",
            DefaultValueFactory = _ => 0.2,
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed for splits and sampling (default 42).",
            DefaultValueFactory = _ => 42,
        };
        var output = new Option<string>("--out")
        {
            Description = "Where to write the model (default model.json).",
            DefaultValueFactory = _ => "model.json",
        };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var param = new Option<string[]>("--param", "-p")
        {
            Description = "Hyperparameter NAME=VALUE (repeatable), e.g. -p num_leaves=63 -p learning_rate=0.05.",
            AllowMultipleArgumentsPerToken = false,
        };
        var slice = new Option<string?>("--slice")
        {
            Description = "Also report test metrics per value of this column.",
        };
        var ignore = new Option<string[]>("--ignore") { Description = "Columns not to use as features (repeatable)." };
        var quiet = new Option<bool>("--quiet", "-q")
        {
            Description = "No progress display (the result is printed as usual).",
        };
        var threshold = new Option<string?>("--threshold")
        {
            Description =
                "Binary decision threshold: a number in (0, 1), or auto / auto:accuracy / auto:f1 / auto:balanced_accuracy (chosen on validation folds).",
        };
        var outOfCore = new Option<bool?>("--out-of-core")
        {
            Description =
                "Stream the CSV in two passes and keep only one byte per row and feature (GBDT only; needs --test). Without the option: automatic for gbdt when the file is larger than a third of the memory available to the process; --out-of-core false always loads the table.",
            Arity = ArgumentArity.ZeroOrOne,
        };

        var command = new Command("train", "Train a model and report its test metrics.")
        {
            data,
            target,
            task,
            trainer,
            test,
            testFraction,
            seed,
            output,
            json,
            param,
            slice,
            ignore,
            threshold,
            quiet,
            outOfCore,
        };
        command.SetAction(parse => CliApp.Guard(parse, (stdout, stderr) =>
            {
                var sw = Stopwatch.StartNew();
                var mlTask = MlTaskNames.ParseTask(parse.GetValue(task)!);
                var options = ParseParams(parse.GetValue(param) ?? []);
                var targetName = parse.GetValue(target)!;
                var seedValue = parse.GetValue(seed);
                var spec = new TrainingSpec(targetName, mlTask)
                {
                    Trainer = MlTaskNames.ParseTrainer(parse.GetValue(trainer)!),
                    Options = options,
                    Seed = seedValue,
                    IgnoreColumns = parse.GetValue(ignore),
                    Threshold = parse.GetValue(threshold) is { } t ? ThresholdRule.Parse(t) : ThresholdRule.Default,
                };
                var dataPath = parse.GetValue(data)!;
                var testPath = parse.GetValue(test);
                var jsonOut = parse.GetValue(json);
                var progressMode = CliProgress.For(stdout, parse.GetValue(quiet) || jsonOut);
                DataTable testTable;
                TrainingResult result;
                OutOfCoreStats? streamed = null;
                long trainRows;
                double loadSeconds,
                    trainSeconds;
                if (OutOfCoreChoice.Chosen(parse.GetValue(outOfCore), dataPath, spec))
                {
                    // The training file is read twice in chunks and never held as a table; the test file is loaded only
                    // after training, when the binned store and the boosting arrays are garbage, so the two never share
                    // the heap.
                    if (testPath is null)
                        throw new ArgumentException(OutOfCoreChoice.NeedsTestFile);
                    var run = WithProgress(progressMode, $"{spec.Trainer.ToName()} out of core", 0, p =>
                        OutOfCoreTrainer.TrainFile(dataPath, spec, progress: p)
                    );
                    var loadWatch = Stopwatch.StartNew();
                    testTable = CsvTableReader.ReadFile(testPath);
                    loadSeconds = loadWatch.Elapsed.TotalSeconds;
                    (result, streamed, trainRows, trainSeconds) = (
                        run.Result,
                        run.Stats,
                        run.Stats.TrainRows + run.Stats.ValidationRows,
                        run.Result.Elapsed.TotalSeconds
                    );
                }
                else
                {
                    var all = CsvTableReader.ReadFile(dataPath);
                    loadSeconds = sw.Elapsed.TotalSeconds;
                    DataTable train;
                    if (testPath is not null)
                    {
                        train = all;
                        testTable = CsvTableReader.ReadFile(testPath);
                    }
                    else
                        (train, testTable) = DataSplit.TrainTest(
                            all,
                            targetName,
                            mlTask,
                            parse.GetValue(testFraction),
                            seedValue
                        );
                    var trainWatch = Stopwatch.StartNew();
                    result = WithProgress(
                        progressMode,
                        $"{spec.Trainer.ToName()} on {train.RowCount:N0} rows",
                        train.RowCount,
                        p => ModelTrainer.Train(train, spec, p)
                    );
                    trainSeconds = trainWatch.Elapsed.TotalSeconds;
                    trainRows = train.RowCount;
                }
                var report = Evaluator.Evaluate(result.Model, testTable, parse.GetValue(slice));
                // A tuned threshold is reported next to the usual 0.5, on the same test rows.
                var atHalf =
                    mlTask == MlTask.Binary && result.Model.Threshold != 0.5
                        ? Evaluator.Evaluate(result.Model.WithThreshold(0.5), testTable).Metrics
                        : null;
                var model = result.Model.WithMetrics(
                    report.Metrics.ToDictionary(kv => "test_" + kv.Key, kv => kv.Value)
                );
                var outPath = parse.GetValue(output)!;
                model.Save(outPath);
                foreach (var issue in report.Issues)
                    stderr.WriteLine($"warning: {issue.Message}");

                if (jsonOut)
                {
                    var doc = new Dictionary<string, object?>
                    {
                        ["trainer"] = result.Trainer.ToString().ToLowerInvariant(),
                        ["task"] = parse.GetValue(task),
                        ["target"] = targetName,
                        ["train_rows"] = trainRows,
                        ["test_rows"] = report.RowCount,
                        ["load_seconds"] = loadSeconds,
                        ["train_seconds"] = trainSeconds,
                        ["best_iteration"] = result.BestIteration,
                        ["primary_metric"] = report.PrimaryMetric,
                        ["metrics"] = report.Metrics.Where(kv => double.IsFinite(kv.Value)).ToDictionary(),
                        ["threshold"] = report.Threshold,
                        ["metrics_at_0.5"] = atHalf?.Where(kv => double.IsFinite(kv.Value)).ToDictionary(),
                        ["candidates"] = result.CandidateScores.Count > 0 ? result.CandidateScores : null,
                        ["confusion_matrix"] = report.Confusion is { } cm
                            ? new { labels = cm.Labels, counts = cm.Counts }
                            : null,
                        ["slices"] =
                            report.Slices.Count > 0
                                ? report.Slices.Select(s => new
                                {
                                    column = s.Column,
                                    value = s.Value,
                                    rows = s.RowCount,
                                    metrics = s.Metrics.Where(kv => double.IsFinite(kv.Value)).ToDictionary(),
                                })
                                : null,
                        ["model"] = outPath,
                        ["out_of_core"] = streamed is null
                            ? null
                            : new
                            {
                                rows = streamed.Rows,
                                train_rows = streamed.TrainRows,
                                validation_rows = streamed.ValidationRows,
                                sample_rows = streamed.SampleRows,
                                features = streamed.Features,
                                binned_bytes = streamed.BinnedBytes,
                                scan_seconds = streamed.ScanSeconds,
                                bin_seconds = streamed.BinSeconds,
                                boost_seconds = streamed.TrainSeconds,
                            },
                    };
                    stdout.WriteLine(
                        JsonSerializer.Serialize(
                            doc,
                            new JsonSerializerOptions
                            {
                                DefaultIgnoreCondition = System
                                    .Text
                                    .Json
                                    .Serialization
                                    .JsonIgnoreCondition
                                    .WhenWritingNull,
                            }
                        )
                    );
                }
                else
                {
                    stdout.WriteLine(
                        $"trained {result.Trainer.ToString().ToLowerInvariant()} on {trainRows:N0} rows in {trainSeconds:F2}s ({result.BestIteration} iterations); tested on {report.RowCount:N0} rows"
                    );
                    if (streamed is not null)
                        stdout.WriteLine(
                            $"  out of core: scan {streamed.ScanSeconds:F1}s, bin {streamed.BinSeconds:F1}s, boost {streamed.TrainSeconds:F1}s; {streamed.BinnedBytes / 1048576.0:F0} MB of bins, bins fitted on a {streamed.SampleRows:N0}-row sample"
                        );
                    foreach (var (name, score) in result.CandidateScores)
                        stdout.WriteLine($"  auto candidate {name}: {result.SelectionMetric} {score:F4}");
                    if (atHalf is not null)
                        stdout.WriteLine(
                            $"  threshold {report.Threshold!.Value.ToString("F4", CultureInfo.InvariantCulture)} ({spec.Threshold}); at 0.5 in brackets"
                        );
                    foreach (var (name, value) in report.Metrics)
                        stdout.WriteLine(
                            $"  {name, -10} {value.ToString("F4", CultureInfo.InvariantCulture)}{(atHalf is not null ? $" [{atHalf[name].ToString("F4", CultureInfo.InvariantCulture)}]" : "")}{(name == report.PrimaryMetric ? "  (primary)" : "")}"
                        );
                    if (report.Confusion is { } cm && cm.Labels.Count <= 10)
                    {
                        stdout.WriteLine(
                            "  confusion (rows = actual, columns = predicted): " + string.Join(" ", cm.Labels)
                        );
                        for (int i = 0; i < cm.Labels.Count; i++)
                            stdout.WriteLine(
                                $"    {cm.Labels[i], -10} {string.Join(" ", cm.Counts[i].Select(c => c.ToString().PadLeft(6)))}"
                            );
                    }
                    foreach (var s in report.Slices)
                        stdout.WriteLine(
                            $"  slice {s.Column}={s.Value ?? "(missing)"} ({s.RowCount} rows): {s.Metrics[report.PrimaryMetric]:F4} {report.PrimaryMetric}"
                        );
                    stdout.WriteLine($"model written to {outPath}");
                }
                return 0;
            }));
        return command;
    }

    /// <summary>Parses NAME=VALUE pairs; numbers become doubles, anything else stays text (validated by the
    /// trainer).</summary>
    internal static Dictionary<string, object> ParseParams(string[] pairs)
    {
        var d = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var p in pairs)
        {
            int eq = p.IndexOf('=');
            if (eq <= 0)
                throw new ArgumentException($"Hyperparameter '{p}' must look like NAME=VALUE.");
            var value = p[(eq + 1)..];
            d[p[..eq]] = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                ? v
                : value;
        }
        return d;
    }

    /// <summary>
    /// Runs a training with a progress line: per round, rows/s counts the <paramref name="rows"/> each round passes
    /// over. Microsoft.ML's engines (from 20,000 rows) report once, at the end, so the line first says that training
    /// started.
    /// </summary>
    private static T WithProgress<T>(
        CliProgress.Mode mode,
        string what,
        long rows,
        Func<IProgress<TrainingProgress>?, T> train
    ) => mode == CliProgress.Mode.None ? train(null) : CliProgress.Run(mode, addLine =>
            {
                var line = addLine("training " + what, 1);
                line.Report(0);
                return train(
                    new SyncProgress(p =>
                        line.Report(p.Iteration, p.Total, $"{p.Stage} rounds", (double)p.Iteration * rows)
                    )
                );
            });

    /// <summary>Reports progress synchronously on the training thread (Progress&lt;T&gt; would post to the thread
    /// pool).</summary>
    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
