using System.Diagnostics;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Training;

namespace Mlops.Bench.Ml;

/// <summary>
/// <c>ml-memory DATA.csv TARGET</c>: loads a CSV and trains the benchmark GBDT on all of it, printing the peak working
/// set. Run under <c>DOTNET_GCHeapHardLimit=0x100000000</c> to prove a data set trains within 4 GB of managed heap.
/// </summary>
public static class MlMemory
{
    public static int Run(string[] args)
    {
        var sw = Stopwatch.StartNew();
        var data = CsvTableReader.ReadFile(args[0]);
        Console.WriteLine(
            $"loaded {data.RowCount:N0} rows in {sw.Elapsed.TotalSeconds:F1}s; working set {Environment.WorkingSet / 1048576.0:F0} MB, peak {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MB"
        );
        sw.Restart();
        var options = new Dictionary<string, object>
        {
            ["num_rounds"] = 100,
            ["num_leaves"] = 63,
            ["max_depth"] = 6,
            ["learning_rate"] = 0.3,
            ["min_data_in_leaf"] = 100,
        };
        if (args.Length > 2)
            options["num_rounds"] = int.Parse(args[2]);
        var result = ModelTrainer.Train(data, new TrainingSpec(args[1], MlTask.Binary) { Options = options });
        Console.WriteLine(
            $"trained {result.BestIteration} rounds in {sw.Elapsed.TotalSeconds:F1}s; final train logloss {result.Curve[^1].Train:F4}"
        );
        Console.WriteLine(
            $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MB; GC heap limit {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1048576.0:F0} MB"
        );
        return 0;
    }
}
