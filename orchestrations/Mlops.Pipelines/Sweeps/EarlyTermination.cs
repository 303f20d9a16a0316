using System.Globalization;
using Mlops.Pipelines.Configuration;

namespace Mlops.Pipelines.Sweeps;

/// <summary>
/// Where trials report to each other: each trial posts its value at a rung round and gets back the values of the
/// other trials that reached that round before it. Storage-backed in the pipeline (<see cref="BlobRungBoard"/>), in
/// memory in tests.
/// </summary>
public interface IRungBoard
{
    Task<IReadOnlyList<double>> ReportAsync(
        int round,
        string runId,
        double value,
        CancellationToken cancellationToken = default
    );
}

/// <summary>The rules of early termination; pure, so they can be checked on scripted curves.</summary>
public static class EarlyTermination
{
    /// <summary>
    /// Rounds at which a trial is judged, below its full budget: hyperband at minIter·eta^k (its rungs), median at
    /// every multiple of minIter (the median rule needs no rungs, only enough rounds to be meaningful).
    /// </summary>
    public static IReadOnlyList<int> CheckRounds(EarlyTerminateConfig config, int totalRounds)
    {
        var rounds = new List<int>();
        for (
            long r = config.MinIter;
            r < totalRounds;
            r = config.Type == "median" ? r + config.MinIter : r * config.Eta
        )
            rounds.Add((int)r);
        return rounds;
    }

    /// <summary>
    /// Why a trial whose best validation loss so far is <paramref name="loss"/> at <paramref name="round"/> should
    /// stop, given the other trials' losses at that round (lower is better); null to continue.
    /// </summary>
    public static string? Judge(
        EarlyTerminateConfig config,
        string metric,
        int round,
        double loss,
        IReadOnlyList<double> others
    )
    {
        if (others.Count == 0)
            return null;
        if (config.Type == "median")
        {
            var sorted = others.Order().ToList();
            double median =
                sorted.Count % 2 == 1
                    ? sorted[sorted.Count / 2]
                    : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
            return loss > median
                ? $"median: validation {metric} {F(loss)} at round {round} is worse than the median {F(median)} of {others.Count} other trial(s) at that round"
                : null;
        }
        // Asynchronous successive halving: continue only within the top 1/eta of the trials seen at this rung (at least
        // one).
        int seen = others.Count + 1,
            keep = Math.Max(1, seen / config.Eta);
        int better = others.Count(o => o < loss);
        return better >= keep
            ? $"hyperband: validation {metric} {F(loss)} at round {round} is not in the top {keep} of {seen} trial(s) at this rung (eta {config.Eta})"
            : null;
    }

    private static string F(double v) => v.ToString("0.#####", CultureInfo.InvariantCulture);
}

/// <summary>
/// Follows one trial's curve and decides, at each check round, whether it continues. Blocks on the board because
/// trainers call it synchronously between two rounds; it runs on the activity's thread, never in an orchestrator.
/// </summary>
public sealed class TrialPruner(
    EarlyTerminateConfig config,
    IRungBoard board,
    string runId,
    string metric,
    int totalRounds
)
{
    private readonly HashSet<int> checkRounds = [.. EarlyTermination.CheckRounds(config, totalRounds)];
    private double best = double.PositiveInfinity;

    public int? PrunedAtRound { get; private set; }
    public string? Reason { get; private set; }

    /// <summary>Returns false to stop training after <paramref name="round"/>, with <see cref="Reason"/> set.</summary>
    public bool Continue(int round, double? validationLoss)
    {
        if (validationLoss is double v && v < best)
            best = v;
        if (!checkRounds.Contains(round) || double.IsPositiveInfinity(best))
            return true;
        var others = board.ReportAsync(round, runId, best).GetAwaiter().GetResult();
        if (EarlyTermination.Judge(config, metric, round, best, others) is not { } reason)
            return true;
        (PrunedAtRound, Reason) = (round, reason);
        return false;
    }
}

/// <summary>Rung values kept in memory: one process, for tests and benchmarks.</summary>
public sealed class MemoryRungBoard : IRungBoard
{
    private readonly Dictionary<int, Dictionary<string, double>> rungs = [];

    public Task<IReadOnlyList<double>> ReportAsync(
        int round,
        string runId,
        double value,
        CancellationToken cancellationToken = default
    )
    {
        lock (rungs)
        {
            if (!rungs.TryGetValue(round, out var rung))
                rungs[round] = rung = [];
            rung[runId] = value;
            return Task.FromResult<IReadOnlyList<double>>(
                rung.Where(kv => kv.Key != runId).Select(kv => kv.Value).ToList()
            );
        }
    }
}
