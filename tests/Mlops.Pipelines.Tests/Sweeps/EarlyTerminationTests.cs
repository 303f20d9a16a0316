using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Sweeps;
using Xunit;

namespace Mlops.Pipelines.Tests.Sweeps;

/// <summary>Scripted validation-loss curves run one trial after another through the same rung board.</summary>
public sealed class EarlyTerminationTests
{
    /// <summary>A curve of <paramref name="rounds"/> losses through the given (round, loss) points, flat in
    /// between.</summary>
    private static double[] Curve(int rounds, params (int Round, double Loss)[] points) =>
        Enumerable.Range(1, rounds).Select(r => points.Last(p => p.Round <= r || p == points[0]).Loss).ToArray();

    /// <summary>Runs each trial's curve in order; returns trial → round it was stopped at (null: completed) and the
    /// reasons.</summary>
    private static Dictionary<string, (int? Round, string? Reason)> Run(
        EarlyTerminateConfig config,
        params (string Id, double[] Curve)[] trials
    )
    {
        var board = new MemoryRungBoard();
        var outcome = new Dictionary<string, (int?, string?)>();
        foreach (var (id, curve) in trials)
        {
            var pruner = new TrialPruner(config, board, id, "logloss", curve.Length);
            for (int round = 1; round <= curve.Length; round++)
                if (!pruner.Continue(round, curve[round - 1]))
                    break;
            outcome[id] = (pruner.PrunedAtRound, pruner.Reason);
        }
        return outcome;
    }

    [Fact]
    public void CheckRounds_HyperbandGeometric_MedianEveryMinIter_BelowTheBudget()
    {
        Assert.Equal(
            [10, 30, 90],
            EarlyTermination.CheckRounds(
                new EarlyTerminateConfig
                {
                    Type = "hyperband",
                    MinIter = 10,
                    Eta = 3,
                },
                100
            )
        );
        Assert.Equal(
            [2, 4, 6, 8],
            EarlyTermination.CheckRounds(new EarlyTerminateConfig { Type = "median", MinIter = 2 }, 10)
        );
        Assert.Empty(EarlyTermination.CheckRounds(new EarlyTerminateConfig { MinIter = 10 }, 10));
    }

    [Fact]
    public void Hyperband_PrunesExactlyTheTrialsBehindTheTopOneOverEta()
    {
        var config = new EarlyTerminateConfig
        {
            Type = "hyperband",
            MinIter = 2,
            Eta = 2,
        }; // rungs at rounds 2, 4, 8 of 10
        var outcome = Run(
            config,
            ("A", Curve(10, (1, 0.6), (2, 0.50), (4, 0.40), (8, 0.30))), // first everywhere: continues
            ("B", Curve(10, (1, 0.7), (2, 0.60))), // rung 2: 2 seen, keeps 1, A is better → pruned at 2
            ("C", Curve(10, (1, 0.5), (2, 0.45), (4, 0.42))), // rung 2: best of 3; rung 4: behind A's 0.40 → pruned at 4
            ("D", Curve(10, (1, 0.6), (2, 0.55))), // rung 2: 4 seen, keeps 2, two are better → pruned at 2
            ("E", Curve(10, (1, 0.5), (2, 0.40), (4, 0.35), (8, 0.28)))
        ); // best at every rung → completes
        Assert.Equal((int?)null, outcome["A"].Round);
        Assert.Equal(2, outcome["B"].Round);
        Assert.Equal(4, outcome["C"].Round);
        Assert.Equal(2, outcome["D"].Round);
        Assert.Equal((int?)null, outcome["E"].Round);
        Assert.Contains("not in the top 2 of 4", outcome["D"].Reason);
    }

    [Fact]
    public void Median_PrunesTrialsWorseThanTheMedianOfOthersAtTheSameRound()
    {
        var config = new EarlyTerminateConfig { Type = "median", MinIter = 2 }; // checks at 2, 4, 6, 8 of 10
        var outcome = Run(
            config,
            ("A", Curve(10, (1, 0.6), (2, 0.5), (4, 0.4), (6, 0.35), (8, 0.3))),
            ("B", Curve(10, (1, 0.6), (2, 0.55))), // round 2: 0.55 > median [0.5] → pruned at 2
            ("C", Curve(10, (1, 0.5), (2, 0.45), (4, 0.42))), // round 2 fine (0.45 < 0.525); round 4: 0.42 > [0.40] → pruned at 4
            ("D", Curve(10, (1, 0.5), (2, 0.45), (4, 0.39), (6, 0.34), (8, 0.29)))
        ); // at or below the median everywhere
        Assert.Equal([null, 2, 4, null], new[] { "A", "B", "C", "D" }.Select(t => outcome[t].Round));
        Assert.Contains("median 0.4 of 1 other", outcome["C"].Reason);
    }

    [Fact]
    public void Pruner_ComparesBestSoFar_NotTheLastNoisyValue()
    {
        var config = new EarlyTerminateConfig { Type = "median", MinIter = 3 };
        var outcome = Run(config, ("A", [0.5, 0.45, 0.40, 0.39, 0.38, 0.37]), ("B", [0.5, 0.30, 0.41, 0.3, 0.3, 0.3])); // 0.41 at round 3 is noise: its best so far, 0.30, is ahead
        Assert.Null(outcome["B"].Round);
    }
}
