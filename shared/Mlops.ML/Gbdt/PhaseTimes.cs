using System.Diagnostics;

namespace Mlops.ML.Gbdt;

/// <summary>
/// Where one <see cref="GbdtTrainer.Train"/> call spent its time (for the benchmark's profiling mode). Each training
/// run owns its own instance, so sweep trials training in parallel do not mix or race on each other's counters.
/// </summary>
public sealed class PhaseTimes
{
    internal long Gradients,
        Trees,
        Histograms,
        Partitions,
        Loss;

    /// <summary>Adds the time since <paramref name="startTimestamp"/> to <paramref name="counter"/> (thread-safe:
    /// histogram work runs on several threads).</summary>
    internal static void AddSince(ref long counter, long startTimestamp) =>
        Interlocked.Add(ref counter, Stopwatch.GetTimestamp() - startTimestamp);

    /// <summary>One line: seconds per phase.</summary>
    public override string ToString()
    {
        static string S(long t) => $"{t / (double)Stopwatch.Frequency:F2}s";
        return $"gradients {S(Gradients)} trees {S(Trees)} (hist {S(Histograms)}, partition {S(Partitions)}) loss {S(Loss)}";
    }
}
