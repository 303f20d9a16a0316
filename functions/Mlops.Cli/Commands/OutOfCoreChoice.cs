using Mlops.ML;
using Mlops.ML.Training;

namespace Mlops.Cli.Commands;

/// <summary>
/// When <c>mlops train</c> streams the training file instead of loading it: on <c>--out-of-core</c>, or automatically
/// for GBDT when the file is larger than a third of the memory available to the process. Loading a numeric CSV as a
/// table and training on it in memory takes about 1.5× the file's size (10M rows × 28: 2.6 GB file, 3.9 GB peak), so
/// above a third the in-memory path would be close to the limit; the streaming path keeps about 60 bytes per row
/// whatever the file size. The available memory is the GC's view (<see
/// cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>), which honours <c>DOTNET_GCHeapHardLimit</c> and container limits.
/// </summary>
internal static class OutOfCoreChoice
{
    public const string NeedsTestFile =
        "Out-of-core training needs --test TEST.csv: the training file is only streamed, so no rows can be held out of it for the test metrics.";

    /// <param name="requested"><c>--out-of-core</c> (true), <c>--out-of-core false</c> (false), or absent (null:
    /// automatic).</param>
    /// <param name="dataPath">Training file.</param>
    /// <param name="spec">What to train.</param>
    public static bool Chosen(bool? requested, string dataPath, TrainingSpec spec)
    {
        if (requested is bool explicitChoice)
            return explicitChoice;
        bool lightGbmAsked = spec.Options?.TryGetValue("engine", out var e) == true && e is "lightgbm";
        if (spec.Trainer != TrainerKind.Gbdt || lightGbmAsked || spec.Threshold.Auto)
            return false;
        var file = new FileInfo(dataPath);
        return file.Exists && file.Length > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 3;
    }
}
