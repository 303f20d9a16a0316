using Mlops.Tracking.Analysis;
using Mlops.Tracking.Query;
using Xunit;

namespace Mlops.Tracking.Tests;

public sealed class RunAnalysisTests
{
    [Fact]
    public void Group_ByParam_GivesMeanSampleStdMinMaxPerGroup()
    {
        var runs = new[]
        {
            Runs.Make("p-t0", new { num_leaves = 31, seed = 1 }, new() { ["auc"] = 0.90, ["logloss"] = 0.3 }),
            Runs.Make("p-t1", new { num_leaves = 31, seed = 2 }, new() { ["auc"] = 0.92 }),
            Runs.Make("p-t2", new { num_leaves = 31, seed = 3 }, new() { ["auc"] = 0.94 }),
            Runs.Make("p-t3", new { num_leaves = 63, seed = 1 }, new() { ["auc"] = 0.80 }),
        };
        var groups = RunAnalysis.Group(runs, ["params.num_leaves"]);
        Assert.Equal(4, groups.Total);
        Assert.Equal(2, groups.Groups.Count);
        var first = groups.Groups[0];
        Assert.Equal("31", first.Key["params.num_leaves"]);
        Assert.Equal(3, first.Count);
        Assert.Equal(["p-t0", "p-t1", "p-t2"], first.RunIds);
        var auc = first.Metrics["auc"];
        Assert.Equal(0.92, auc.Mean, 12);
        Assert.Equal(0.02, auc.Std, 12); // sample std of 0.90, 0.92, 0.94
        Assert.Equal((0.90, 0.94, 3), (auc.Min, auc.Max, auc.Count));
        Assert.Equal(1, first.Metrics["logloss"].Count); // only the runs that report a metric count for it
        Assert.Equal(0, groups.Groups[1].Metrics["auc"].Std); // one run: no spread
    }

    [Fact]
    public void Group_BySweep_LeavesOutSingleTrialRuns_AndKeysCanCombine()
    {
        var runs = new[]
        {
            Runs.Make("a-t0", new { lr = 0.1 }, new() { ["auc"] = 0.9 }),
            Runs.Make("a-t1", new { lr = 0.2 }, new() { ["auc"] = 0.8 }),
            Runs.Make("b-t0", new { lr = 0.1 }, new() { ["auc"] = 0.7 }, sweepMethod: null),
        };
        var sweeps = RunAnalysis.Group(runs, ["sweep"]);
        var only = Assert.Single(sweeps.Groups);
        Assert.Equal(("a", 2), (only.Key["sweep"], only.Count));
        Assert.Equal(0.85, only.Metrics["auc"].Mean, 12);

        var combined = RunAnalysis.Group(runs, ["pipeline", "params.lr"]);
        Assert.Equal(3, combined.Groups.Count);
        Assert.Contains(combined.Groups, g => g.Label == "pipeline=a, params.lr=0.1");
        Assert.Throws<FilterSyntaxException>(() => RunAnalysis.Group(runs, []));
    }

    [Fact]
    public void ParamDiff_ListsOnlyParamsThatDiffer_WithEachRunsValue()
    {
        var runs = new[]
        {
            Runs.Make(
                "p-t0",
                new Dictionary<string, object>
                {
                    ["num_leaves"] = 31,
                    ["lr"] = 0.1,
                    ["rounds"] = 100,
                    ["objective"] = "binary",
                }
            ),
            Runs.Make(
                "p-t1",
                new Dictionary<string, object>
                {
                    ["num_leaves"] = 63,
                    ["lr"] = 0.1,
                    ["rounds"] = 100.0,
                    ["objective"] = "binary",
                    ["l2"] = 1,
                }
            ),
            Runs.Make(
                "p-t2",
                new Dictionary<string, object>
                {
                    ["num_leaves"] = 31,
                    ["lr"] = 0.1,
                    ["rounds"] = 100,
                    ["objective"] = "binary",
                }
            ),
        };
        var diff = RunAnalysis.ParamDiff(runs);
        Assert.Equal(["l2", "num_leaves"], diff.Select(d => d.Param)); // 100 and 100.0 are the same value
        var leaves = diff.Single(d => d.Param == "num_leaves").Values;
        Assert.Equal([31, 63, 31], runs.Select(r => leaves[r.RunId]!.Value.GetInt32()));
        var l2 = diff.Single(d => d.Param == "l2").Values;
        Assert.Null(l2["p-t0"]);
        Assert.Equal(1, l2["p-t1"]!.Value.GetInt32());
    }

    [Fact]
    public void AtStep_TakesTheRoundOrTheNearestEarlierOne()
    {
        IReadOnlyList<CurvePoint> everyTen =
        [
            new(10, 0.5, 0.6, 1.0, "logloss"),
            new(20, 0.4, 0.5, 2.0, "logloss"),
            new(30, 0.3, 0.45, 3.0, "logloss"),
        ];
        IReadOnlyList<CurvePoint> stoppedEarly =
        [
            new(1, 0.6, 0.7, null, "logloss"),
            new(2, 0.55, 0.65, null, "logloss"),
        ];
        var at = RunAnalysis.AtStep([("a", everyTen), ("b", stoppedEarly), ("c", [])], 25);
        Assert.Equal((20, 0.5, 2.0), (at[0].Round!.Value, at[0].Validation!.Value, at[0].Elapsed!.Value));
        Assert.Equal((2, 0.65), (at[1].Round!.Value, at[1].Validation!.Value));
        Assert.Null(at[1].Elapsed);
        Assert.Null(at[2].Round);
        Assert.Null(CurveSummaries.AtStep(everyTen, 5)); // before the first recorded round
        Assert.Equal(30, CurveSummaries.AtStep(everyTen, 30)!.Round);
    }

    [Fact]
    public void Summarize_BestFollowsTheMetricsDirection()
    {
        IReadOnlyList<CurvePoint> curve =
        [
            new(1, 0.6, 0.65, null, "logloss"),
            new(2, 0.5, 0.55, null, "logloss"),
            new(3, 0.4, 0.58, null, "logloss"),
            new(1, 0.7, 0.70, null, "auc"),
            new(2, 0.8, 0.90, null, "auc"),
            new(3, 0.9, 0.85, null, "auc"),
            new(1, 3.0, null, null, "rmse"),
            new(2, 2.0, null, null, "rmse"),
        ];
        var s = CurveSummaries.Summarize(curve);
        Assert.Equal(new CurveSummary(0.55, 0.58, 0.55, 0.65, 2), s["logloss"]);
        Assert.Equal(new CurveSummary(0.90, 0.85, 0.70, 0.90, 2), s["auc"]);
        Assert.Equal(new CurveSummary(2.0, 2.0, 2.0, 3.0, 2), s["rmse"]); // no validation split: the training values
    }

    [Fact]
    public void Order_SortsByFieldWithMissingValuesLast()
    {
        var runs = new[]
        {
            Runs.Make("p-t0", metrics: new() { ["auc"] = 0.8 }),
            Runs.Make("p-t1", metrics: new() { }),
            Runs.Make("p-t2", metrics: new() { ["auc"] = 0.9 }),
        };
        Assert.Equal(["p-t2", "p-t0", "p-t1"], RunAnalysis.Order(runs, "metrics.auc desc").Select(r => r.RunId));
        Assert.Equal(["p-t0", "p-t2", "p-t1"], RunAnalysis.Order(runs, "metrics.auc").Select(r => r.RunId));
        Assert.Equal(["p-t2", "p-t1", "p-t0"], RunAnalysis.Order(runs, null).Select(r => r.RunId)); // newest first
        Assert.Throws<FilterSyntaxException>(() => RunAnalysis.Order(runs, "metrics.auc sideways"));
    }

    [Fact]
    public void Sweep_HistoryKeepsTheBestSoFar_PrunedTrialsDoNotCount_ImportanceFindsTheParameterThatMatters()
    {
        // auc rises with num_leaves; the seed-like "noise" parameter alternates regardless of it.
        var runs = Enumerable
            .Range(0, 8)
            .Select(i =>
                Runs.Make(
                    $"p-t{i}",
                    new
                    {
                        num_leaves = 8 * (i + 1),
                        noise = i % 2 == 0 ? "a" : "b",
                        rounds = 100,
                    },
                    new() { ["auc"] = 0.80 + 0.01 * i + (i == 5 ? 0.5 : 0) },
                    status: i == 5 ? RunStatus.Pruned : RunStatus.Completed
                )
            )
            .ToList();
        var view = SweepAnalysis.Analyze("p", runs, summary: null);
        Assert.Equal(8, view.Trials.Count);
        Assert.Equal("auc", view.Objective);
        Assert.True(view.HigherIsBetter);
        Assert.Equal(0.84, view.History[4].BestSoFar!.Value, 12);
        Assert.True(view.History[5].Pruned);
        Assert.Equal(0.84, view.History[5].BestSoFar!.Value, 12); // the pruned trial's partial value is not a best
        Assert.Equal(("p-t7", 0.87), (view.History[7].BestRunId, Math.Round(view.History[7].BestSoFar!.Value, 12)));

        var leaves = view.Parameters[0];
        Assert.Equal("num_leaves", leaves.Name);
        Assert.Equal(1.0, leaves.Spearman!.Value, 12);
        Assert.True(leaves.Importance > 0.8, $"num_leaves importance {leaves.Importance}");
        Assert.Equal(1.0, view.Parameters.Sum(p => p.Importance), 12);
        Assert.DoesNotContain(view.Parameters, p => p.Name == "rounds"); // constant parameters explain nothing
        Assert.Null(view.Parameters.Single(p => p.Name == "noise").Spearman);
    }

    [Fact]
    public void Spearman_OfTiesAndOppositeOrder()
    {
        Assert.Equal(-1.0, SweepAnalysis.Spearman([1, 2, 3, 4], [8, 6, 4, 2])!.Value, 12);
        Assert.Equal([1.5, 1.5, 3], SweepAnalysis.Ranks([5, 5, 9]));
        Assert.Null(SweepAnalysis.Spearman([1, 1, 1], [1, 2, 3]));
    }
}
