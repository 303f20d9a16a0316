using System.Diagnostics;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Training;

namespace Mlops.Bench.Ml;

/// <summary><c>ml-profile DATA.csv TARGET [name=value …]</c>: one GBDT training with wall and CPU time, for
/// tuning.</summary>
public static class MlProfile
{
    public static int Run(string[] args)
    {
        var all = CsvTableReader.ReadFile(args[0]);
        var (train, test) = DataSplit.TrainTest(all, args[1], MlTask.Binary, 0.2, 42);
        var options = args.Skip(2).Select(a => a.Split('=')).ToDictionary(p => p[0], p => (object)p[1]);
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var r = ModelTrainer.Train(train, new TrainingSpec(args[1], MlTask.Binary) { Options = options });
        proc.Refresh();
        Console.WriteLine(
            $"train wall {sw.Elapsed.TotalSeconds:F2}s cpu {(proc.TotalProcessorTime - cpu0).TotalSeconds:F2}s (engine {r.Model.Metadata.Options["engine"]})"
        );
        // Phase times of our own engine, from a run of it alone (each run owns its counters).
        var o = Mlops.ML.Gbdt.GbdtOptions.FromDictionary(options);
        var ownFeaturizer = Mlops.ML.Featurization.Featurizer.Fit(train, args[1]);
        var labels = Mlops.ML.Models.Labels.AsStrings(train[args[1]]);
        var classes = Mlops.ML.Models.Labels.SortClasses(labels.Select(s => s!));
        var y = labels.Select(s => s == classes[1] ? 1.0 : 0.0).ToArray();
        var binned = Mlops.ML.Gbdt.BinnedDataset.Build(
            ownFeaturizer,
            ownFeaturizer.Bind(train),
            o with
            {
                Engine = "mlops",
            },
            42,
            new ParallelOptions()
        );
        var own = Mlops.ML.Gbdt.GbdtTrainer.Train(
            binned,
            y,
            null,
            null,
            new Mlops.ML.Objectives.BinaryLogLoss(),
            o with
            {
                Engine = "mlops",
            },
            42
        );
        Console.WriteLine("mlops engine phases: " + own.Phases);
        sw.Restart();
        var cpu1 = proc.TotalProcessorTime;
        var p = r.Model.PredictBatch(test);
        proc.Refresh();
        Console.WriteLine(
            $"predict {test.RowCount} rows wall {sw.Elapsed.TotalSeconds:F3}s cpu {(proc.TotalProcessorTime - cpu1).TotalSeconds:F3}s"
        );
        Console.WriteLine($"auc {Evaluator.Evaluate(r.Model, test).Metrics["auc"]:F4}");
        {
            var fz = r.Model.Featurizer;
            sw.Restart();
            var bound = fz.Bind(all);
            double bindS = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var feats = new float[all.RowCount * fz.FeatureCount];
            fz.FillRows(bound, 0, all.RowCount, feats);
            double fillS = sw.Elapsed.TotalSeconds;
            var raw = new double[all.RowCount];
            sw.Restart();
            r.Model.Predictor.Predict(feats, all.RowCount, raw);
            double predS = sw.Elapsed.TotalSeconds;
            var trees = ((Mlops.ML.Gbdt.GbdtEnsemble)r.Model.Predictor).Trees;
            static int D(Mlops.ML.Gbdt.RegressionTree t, int n) =>
                n < 0 ? 0 : 1 + Math.Max(D(t, t.Left[n]), D(t, t.Right[n]));
            Console.WriteLine(
                $"trees {trees.Count}, mean max depth {trees.Average(t => t.NodeCount == 0 ? 0 : D(t, 0)):F1}, mean leaves {trees.Average(t => t.LeafValue.Length):F1}"
            );
            Console.WriteLine($"single thread: bind {bindS:F3}s fill {fillS:F3}s trees {predS:F3}s");
        }
        for (int rep = 0; rep < 2; rep++)
        {
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            sw.Restart();
            r.Model.PredictBatch(all);
            proc.Refresh();
            Console.WriteLine(
                $"predict all {all.RowCount} rows wall {sw.Elapsed.TotalSeconds:F3}s cpu {(proc.TotalProcessorTime - c0).TotalSeconds:F3}s = {all.RowCount / sw.Elapsed.TotalSeconds / 1e6:F2} M rows/s"
            );
        }
        return 0;
    }
}
