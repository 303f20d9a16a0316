using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.DurableTask.Testing;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Sweeps;
using Mlops.Pipelines.Training;
using Mlops.Testing;
using Mlops.Tracking;
using Xunit;

namespace Mlops.Pipelines.Tests.Training;

/// <summary>
/// Sweeps in the training orchestrator, on the in-process test host: the train activity is scripted, but it prunes
/// with the real <see cref="TrialPruner"/> on a shared in-memory rung board, as the real activity does on blobs.
/// </summary>
public sealed class TrainingStageTests
{
    private readonly ConcurrentQueue<string> trained = new();
    private readonly MemoryRungBoard board = new();
    private SweepSummary? recorded;
    private string? evaluated;

    /// <summary>Validation-loss curves (10 rounds) by the trial's "curve" parameter, and the score its (partial) model
    /// gets.</summary>
    private static readonly Dictionary<string, (double[] Curve, double Auc, double LatencyUs)> Script = new()
    {
        ["a"] = ([.6, .5, .45, .42, .40, .39, .38, .37, .36, .35], 0.90, 40),
        ["b"] = ([.7, .65, .6, .6, .6, .6, .6, .6, .6, .6], 0.99, 10), // behind at round 2: pruned, though its score looks best
        ["c"] = ([.5, .44, .41, .39, .37, .35, .33, .31, .30, .29], 0.93, 90),
        ["d"] = ([.8, .75, .7, .7, .7, .7, .7, .7, .7, .7], 0.70, 5), // pruned at round 2
        ["e"] = ([.5, .43, .40, .38, .36, .34, .32, .30, .28, .27], 0.95, 200),
        ["f"] = ([.5, .44, .42, .41, .40, .40, .40, .40, .40, .40], 0.91, 20), // first at its rung 2 is fine, behind at round 4
    };

    private TrialResult Train(TrialRequest t)
    {
        trained.Enqueue(t.RunId);
        string name = t.Params["curve"].GetString()!;
        var (curve, auc, latency) = Script[name];
        TrialPruner? pruner = t.Config.Sweep!.EarlyTerminate is { } early
            ? new TrialPruner(early, board, t.RunId, "logloss", curve.Length)
            : null;
        if (pruner is not null)
            for (int round = 1; round <= curve.Length && pruner.Continue(round, curve[round - 1]); round++) { }
        return new TrialResult(
            t.RunId,
            t.Params,
            "gbdt",
            "auc",
            auc,
            true,
            new() { ["auc"] = auc },
            1,
            "m",
            pruner?.PrunedAtRound is null ? TrialResult.Completed : TrialResult.Pruned,
            pruner?.PrunedAtRound,
            pruner?.Reason,
            t.Config.Sweep.Objectives is null ? null : new() { ["auc"] = auc, [SweepRules.PredictLatency] = latency }
        );
    }

    private Task<DurableTaskTestHost> StartAsync(PipelineConfig config) =>
        DurableTaskTestHost.StartAsync(
            r =>
                r.AddOrchestrator<TrainingPipeline>()
                    .AddActivityFunc<TrainingRequest, IngestResult>(nameof(IngestData), (_, i) =>
                        new IngestResult(i.Dataset, "abc123", true, 100, config, ["abc123"])
                    )
                    .AddActivityFunc<ValidateRequest, ValidationResult>(nameof(ValidateData), (_, _) =>
                        new ValidationResult("accepted", true, "ok", 0, 0, null)
                    )
                    .AddActivityFunc<TrialRequest, TrialResult>(nameof(TrainCandidate), (_, t) => Train(t))
                    .AddActivityFunc<SweepSummary, bool>(nameof(RecordSweep), (_, s) =>
                    {
                        recorded = s;
                        return true;
                    })
                    .AddActivityFunc<EvaluateRequest, EvaluationResult>(nameof(EvaluateCandidate), (_, e) =>
                    {
                        evaluated = e.Candidate.RunId;
                        return new EvaluationResult(
                            e.Candidate.RunId,
                            new() { ["auc"] = e.Candidate.PrimaryValue },
                            null,
                            null,
                            true,
                            [],
                            "auc",
                            null,
                            null
                        );
                    })
                    .AddActivityFunc<RegisterRequest, int>(nameof(RegisterModel), (_, _) => 1)
                    .AddActivityFunc<PromoteRequest, bool>(nameof(PromoteModel), (_, _) => true),
            new DurableTaskTestHostOptions { Port = AzuriteInstance.FreePort() }
        );

    private static PipelineConfig Config(
        string method,
        int parallelism,
        EarlyTerminateConfig? early,
        List<ObjectiveConfig>? objectives = null
    ) =>
        new()
        {
            Target = "y",
            Task = "binary",
            Trainer = "gbdt",
            Sweep = new SweepConfig
            {
                Method = method,
                MaxTrials = 6,
                Parallelism = parallelism,
                EarlyTerminate = early,
                Objectives = objectives,
                Parameters = new()
                {
                    ["curve"] = JsonSerializer.SerializeToElement(new[] { "a", "b", "c", "d", "e", "f" }),
                },
            },
        };

    [Fact]
    public async Task GridWithHyperband_MarksPrunedTrials_PromotesTheBestCompletedOne_RecordsTheSweep()
    {
        await using var host = await StartAsync(
            Config(
                "grid",
                1,
                new EarlyTerminateConfig
                {
                    Type = "hyperband",
                    MinIter = 2,
                    Eta = 2,
                }
            )
        );
        var done = await TrainingPipelineTests.RunAsync(host, "hb");
        var result = done.ReadOutputAs<PipelineResult>()!;
        Assert.Equal("promoted", result.Outcome);
        Assert.Equal((6, 3), (result.Trials, result.PrunedTrials));

        var byCurve = recorded!.Trials.ToDictionary(t => t.Params["curve"].GetString()!);
        Assert.Equal(
            ["completed", "pruned", "completed", "pruned", "completed", "pruned"],
            "abcdef".Select(c => byCurve[c.ToString()].Status)
        );
        Assert.Equal([null, 2, null, 2, null, 4], "abcdef".Select(c => byCurve[c.ToString()].PrunedAtRound));
        // b's partial model scored 0.99, but a pruned trial is never the candidate: e (0.95) is.
        Assert.Equal(byCurve["e"].RunId, evaluated);
        Assert.Equal(evaluated, recorded.Chosen);
        Assert.Equal("hb", recorded.SweepId);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"hb-t{i}"), recorded.Trials.Select(t => t.RunId));
        Assert.Equal(100, done.ReadCustomStatusAs<PipelineProgress>()!.Percent);
    }

    [Fact]
    public async Task MultiObjective_ReturnsTheParetoFront_PromotesTheBestFirstObjectiveOnIt()
    {
        var objectives = new List<ObjectiveConfig>
        {
            new() { Metric = "auc", Goal = "max" },
            new() { Metric = SweepRules.PredictLatency, Goal = "min" },
        };
        await using var host = await StartAsync(Config("grid", 2, null, objectives));
        var result = (await TrainingPipelineTests.RunAsync(host, "mo")).ReadOutputAs<PipelineResult>()!;
        // (auc, latency): a .90/40, b .99/10, c .93/90, d .70/5, e .95/200, f .91/20: b dominates a, c, e, f.
        Assert.Equal(["mo-t1", "mo-t3"], result.ParetoFront);
        Assert.Equal("mo-t1", evaluated);
        Assert.Equal(["mo-t1", "mo-t3"], recorded!.ParetoFront);
    }

    [Fact]
    public async Task Bayes_RunsMaxTrialsInBatches_DeterministicUnderReplay()
    {
        await using var host = await StartAsync(
            Config("bayes", 2, new EarlyTerminateConfig { Type = "median", MinIter = 2 }) with
            {
                Seed = 5,
            }
        );
        var done = await TrainingPipelineTests.RunAsync(host, "bayes");
        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"bayes-t{i}"), trained.Order());
        Assert.Equal("bayes", recorded!.Method);
        Assert.Equal(6, recorded.Trials.Count);
        Assert.Contains(recorded.Trials, t => t.Status == "completed" && t.RunId == recorded.Chosen);
    }
}
