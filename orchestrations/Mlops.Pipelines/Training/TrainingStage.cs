using System.Text.Json;
using Microsoft.DurableTask;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Sweeps;
using Mlops.Tracking;

namespace Mlops.Pipelines.Training;

/// <summary>What the training stage produced: every trial in order, the one to evaluate and, with objectives, the
/// Pareto front.</summary>
public sealed record TrainingOutcome(
    IReadOnlyList<TrialResult> Trials,
    TrialResult Chosen,
    IReadOnlyList<string>? ParetoFront
)
{
    public int PrunedCount => Trials.Count(t => t.IsPruned);
}

/// <summary>
/// The training stage of <see cref="TrainingPipeline"/> (a helper it calls, not an orchestration of its own): one
/// trial, or a sweep fanned out in batches of <c>parallelism</c>. Runs inside the orchestrator, so every choice is a
/// pure function of the config, the seed and the trial results recorded in history: grid and random plan all trials
/// up front, bayes asks TPE for each batch given the trials finished so far, adaptive runs successive halving over
/// whole trainings. Early termination happens inside the trial activities (they compare notes on a rung board); the
/// orchestrator only sees each trial's outcome.
/// </summary>
internal static class TrainingStage
{
    /// <summary>Share of the progress bar before training starts and when it ends.</summary>
    private const int StartPercent = 10,
        EndPercent = 80;

    public static async Task<TrainingOutcome> RunAsync(TaskOrchestrationContext context, IngestResult ingest)
    {
        var config = ingest.Config;
        string runPrefix = context.InstanceId;
        var baseParams = config.Params ?? new Dictionary<string, JsonElement>();
        if (config.Sweep is not { } sweep)
        {
            context.SetCustomStatus(
                new PipelineProgress(
                    "train",
                    $"Training ({config.Trainer}).",
                    ingest.DataHash,
                    Percent: StartPercent,
                    Trial: 1,
                    Trials: 1
                )
            );
            var single = await context.CallActivityAsync<TrialResult>(
                nameof(TrainCandidate),
                new TrialRequest(ingest.Dataset, $"{runPrefix}-t0", ingest.TrainingHashes, config, baseParams),
                RetryPolicies.Storage
            );
            return new TrainingOutcome([single], single, null);
        }

        var trials =
            sweep.Method == "adaptive"
                ? await AdaptiveAsync(context, ingest, sweep, baseParams)
                : await BatchedAsync(context, ingest, sweep, baseParams);
        var outcome = Choose(trials, sweep.Objectives);
        await context.CallActivityAsync<bool>(
            nameof(RecordSweep),
            Summarize(context.InstanceId, ingest.Dataset, sweep, outcome),
            RetryPolicies.Storage
        );
        return outcome;
    }

    /// <summary>Grid, random and bayes: batches of <c>parallelism</c> trials; bayes proposes each batch from the
    /// results so far.</summary>
    private static async Task<List<TrialResult>> BatchedAsync(
        TaskOrchestrationContext context,
        IngestResult ingest,
        SweepConfig sweep,
        Dictionary<string, JsonElement> baseParams
    )
    {
        var config = ingest.Config;
        var planned = sweep.Method == "bayes" ? null : SweepPlanner.Plan(sweep, baseParams, config.Seed);
        int total = planned?.Count ?? sweep.MaxTrials;
        var space = new SearchSpace(sweep.Parameters);
        var tpe = new TpeSettings(sweep.StartupTrials, sweep.Gamma);
        var all = new List<TrialResult>();
        while (all.Count < total)
        {
            int start = all.Count,
                size = Math.Min(sweep.Parallelism, total - start);
            var batch = planned?.Skip(start).Take(size).ToList()
                ?? TpeSampler
                    .Propose(space, Observations(space, all), size, config.Seed, start, tpe)
                    .Select(p => space.ToParams(baseParams, p))
                    .ToList();
            context.SetCustomStatus(
                new PipelineProgress(
                    "train",
                    $"Sweep ({sweep.Method}): trials {start + 1}-{start + size} of {total}.",
                    ingest.DataHash,
                    Percent: StartPercent + (EndPercent - StartPercent) * start / total,
                    Trial: start + 1,
                    Trials: total
                )
            );
            var results = await Task.WhenAll(
                batch.Select(
                    (p, i) =>
                        context.CallActivityAsync<TrialResult>(
                            nameof(TrainCandidate),
                            new TrialRequest(
                                ingest.Dataset,
                                $"{context.InstanceId}-t{start + i}",
                                ingest.TrainingHashes,
                                config,
                                p,
                                SweepId: context.InstanceId
                            ),
                            RetryPolicies.Storage
                        )
                )
            );
            all.AddRange(results);
            RequireObjectives(sweep, results);
        }
        return all;
    }

    /// <summary>Adaptive: every configuration gets a small budget; the best third continues with three times the
    /// budget.</summary>
    private static async Task<List<TrialResult>> AdaptiveAsync(
        TaskOrchestrationContext context,
        IngestResult ingest,
        SweepConfig sweep,
        Dictionary<string, JsonElement> baseParams
    )
    {
        var config = ingest.Config;
        var planned = SweepPlanner.Plan(sweep, baseParams, config.Seed);
        int fullRounds = baseParams.TryGetValue("num_rounds", out var nr) && nr.TryGetInt32(out int n) ? n : 100;
        int rungs = SweepPlanner.RungCount(planned.Count);
        var alive = planned.Select((p, i) => (Index: i, Params: p)).ToList();
        var all = new List<TrialResult>();
        for (int rung = 0; rung < rungs; rung++)
        {
            int budget = SweepPlanner.RungBudget(fullRounds, rung, rungs);
            context.SetCustomStatus(
                new PipelineProgress(
                    "train",
                    $"Sweep (adaptive): rung {rung + 1}/{rungs}, {alive.Count} trial(s) at {budget} rounds.",
                    ingest.DataHash,
                    Percent: StartPercent + (EndPercent - StartPercent) * rung / rungs,
                    Trials: planned.Count,
                    Round: budget
                )
            );
            var results = new List<(int Index, Dictionary<string, JsonElement> Params, TrialResult Result)>();
            for (int start = 0; start < alive.Count; start += sweep.Parallelism)
            {
                var batch = alive.Skip(start).Take(sweep.Parallelism).ToList();
                var done = await Task.WhenAll(
                    batch.Select(t =>
                    {
                        var p = new Dictionary<string, JsonElement>(t.Params)
                        {
                            ["num_rounds"] = JsonSerializer.SerializeToElement(budget),
                        };
                        return context.CallActivityAsync<TrialResult>(
                            nameof(TrainCandidate),
                            new TrialRequest(
                                ingest.Dataset,
                                $"{context.InstanceId}-t{t.Index}-r{rung}",
                                ingest.TrainingHashes,
                                config,
                                p,
                                $"rung {rung + 1}/{rungs}"
                            ),
                            RetryPolicies.Storage
                        );
                    })
                );
                results.AddRange(batch.Zip(done, (t, r) => (t.Index, t.Params, r)));
            }
            if (rung == rungs - 1)
            {
                all.AddRange(results.Select(r => r.Result));
                break;
            }
            // Short-budget trainings are never candidates, so a short-budget fluke cannot win.
            all.AddRange(
                results.Select(r =>
                    r.Result with
                    {
                        Status = TrialResult.Pruned,
                        PrunedAtRound = budget,
                        PruneReason =
                            $"adaptive: rung {rung + 1}/{rungs} trains {budget} rounds; only the last rung's full-budget trials are candidates",
                    }
                )
            );
            int keep = Math.Max(1, results.Count / SweepPlanner.AdaptiveEta);
            alive = results
                .OrderByDescending(r => Score(r.Result))
                .ThenBy(r => r.Index)
                .Take(keep)
                .Select(r => (r.Index, r.Params))
                .ToList();
        }
        return all;
    }

    /// <summary>
    /// The trial to evaluate, among completed trials (pruned ones only if none completed): the best primary metric, or
    /// with objectives the best first objective among the Pareto-optimal trials.
    /// </summary>
    public static TrainingOutcome Choose(IReadOnlyList<TrialResult> trials, IReadOnlyList<ObjectiveConfig>? objectives)
    {
        var pool = trials.Where(t => !t.IsPruned).ToList() is { Count: > 0 } completed ? completed : trials.ToList();
        if (objectives is not { Count: > 0 })
            return new TrainingOutcome(
                trials,
                pool.OrderByDescending(Score).ThenBy(t => t.RunId, StringComparer.Ordinal).First(),
                null
            );
        var points = pool.Select(t => objectives.Select(o => ObjectiveValue(t, o.Metric)).ToArray()).ToList();
        var front = ParetoFront.Indices(points, objectives).Select(i => pool[i]).ToList();
        if (front.Count == 0)
            front = pool;
        var first = objectives[0];
        var chosen = front
            .OrderByDescending(t =>
                first.Goal == "min" ? -ObjectiveValue(t, first.Metric) : ObjectiveValue(t, first.Metric)
            )
            .ThenBy(t => t.RunId, StringComparer.Ordinal)
            .First();
        return new TrainingOutcome(trials, chosen, front.Select(t => t.RunId).ToList());
    }

    private static double ObjectiveValue(TrialResult t, string metric) =>
        t.Objectives is { } o && o.TryGetValue(metric, out double v) ? v : double.NaN;

    private static double Score(TrialResult t) => t.HigherIsBetter ? t.PrimaryValue : -t.PrimaryValue;

    /// <summary>What TPE learns from: each finished trial's point and loss (the negated score); pruned trials rank
    /// last.</summary>
    private static List<Observation> Observations(SearchSpace space, IEnumerable<TrialResult> trials) =>
        trials
            .Select(t => (Point: space.ToInternal(t.Params), t))
            .Where(x => x.Point is not null)
            .Select(x => new Observation(x.Point!, -Score(x.t), x.t.IsPruned))
            .ToList();

    /// <summary>An objective that names no metric of the trials is a config error, reported with the metrics there
    /// are.</summary>
    private static void RequireObjectives(SweepConfig sweep, IEnumerable<TrialResult> results)
    {
        foreach (var objective in sweep.Objectives ?? [])
            if (
                results.FirstOrDefault(t => t.Objectives is null || !t.Objectives.ContainsKey(objective.Metric)) is
                { } t
            )
                throw new PipelineInputException(
                    $"\"sweep.objectives\" names \"{objective.Metric}\", which trial {t.RunId} does not report; use one of "
                        + string.Join(
                            ", ",
                            t.ValidationMetrics.Keys.Append(SweepRules.PredictLatency)
                                .Append(SweepRules.TrainSeconds)
                                .Select(k => $"\"{k}\"")
                        )
                        + "."
                );
    }

    private static SweepSummary Summarize(string sweepId, string dataset, SweepConfig sweep, TrainingOutcome outcome)
    {
        var chosen = outcome.Chosen;
        return new SweepSummary(
            sweepId,
            dataset,
            sweep.Method,
            chosen.PrimaryMetric,
            chosen.HigherIsBetter,
            sweep.Objectives,
            sweep.EarlyTerminate,
            outcome
                .Trials.Select(
                    (t, i) =>
                        new SweepTrial(
                            i,
                            t.RunId,
                            t.Params,
                            t.Status,
                            t.PrimaryValue,
                            t.Objectives,
                            t.PrunedAtRound,
                            t.PruneReason,
                            t.TrainSeconds
                        )
                )
                .ToList(),
            outcome.ParetoFront ?? [],
            chosen.RunId
        );
    }
}
