using Mlops.ML.Objectives;
using Mlops.ML.Training;

namespace Mlops.ML.Gbdt;

/// <summary>What <see cref="GbdtTrainer.Train"/> returns: the ensemble, its learning curve and where early stopping
/// kept it.</summary>
/// <remarks><see cref="StoppedAtRound"/> is set when the caller's round callback ended training early.</remarks>
public sealed record GbdtTrainingOutput(
    GbdtEnsemble Ensemble,
    IReadOnlyList<RoundMetrics> Curve,
    string CurveMetric,
    int BestRound,
    PhaseTimes Phases,
    int? StoppedAtRound = null
);

/// <summary>
/// Histogram gradient boosting: each round computes gradients of the objective, grows one leaf-wise tree per output
/// (<see cref="TreeLearner"/>) on an optional row sample and feature sample, and adds its shrunken leaf values to the
/// scores. With a validation set the loss is tracked per round and, with early stopping, the ensemble is cut back to
/// the best round. Every random choice comes from one seeded generator, and parallel work is reduced in a fixed order:
/// same seed, same model.
/// </summary>
public static class GbdtTrainer
{
    private const int Block = 16_384;

    public static GbdtTrainingOutput Train(
        BinnedDataset train,
        double[] labels,
        BinnedDataset? valid,
        double[]? validLabels,
        IObjective objective,
        GbdtOptions options,
        int seed,
        IProgress<TrainingProgress>? progress = null,
        string stage = "gbdt",
        CancellationToken cancellationToken = default,
        Func<RoundMetrics, bool>? continueAfterRound = null
    )
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        options.Validate();
        if (labels.Length != train.RowCount)
            throw new ArgumentException("labels must have one value per training row.", nameof(labels));
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        int n = train.RowCount,
            k = objective.OutputCount,
            f = train.FeatureCount;
        var init = objective.InitialScores(labels);
        var scores = new double[n * k];
        for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            scores[i * k + c] = init[c];
        double[]? vScores = null;
        if (valid is not null)
        {
            vScores = new double[valid.RowCount * k];
            for (int i = 0; i < valid.RowCount; i++)
            for (int c = 0; c < k; c++)
                vScores[i * k + c] = init[c];
        }
        var grad = new float[k][];
        var hess = new float[k][];
        for (int c = 0; c < k; c++)
        {
            grad[c] = new float[n];
            hess[c] = new float[n];
        }
        var phases = new PhaseTimes();
        var learner = new TreeLearner(train, options, parallel, phases);
        var rng = new Random(seed);
        var trees = new List<RegressionTree>();
        var curve = new List<RoundMetrics>();
        var allFeatures = Enumerable.Range(0, f).ToArray();
        double bestLoss = double.PositiveInfinity;
        int bestRound = 0;
        int? stoppedAt = null;
        int[]? bag = options.BaggingFraction < 1 ? new int[n] : null;
        bool[]? inBag = bag is null ? null : new bool[n];

        for (int round = 0; round < options.NumRounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (round == 0)
                ComputeGradients(objective, scores, labels, grad, hess, n, k, parallel, phases);
            int bagCount = n;
            if (bag is not null)
            {
                bagCount = 0;
                for (int i = 0; i < n; i++)
                {
                    bool take = rng.NextDouble() < options.BaggingFraction;
                    inBag![i] = take;
                    if (take)
                        bag[bagCount++] = i;
                }
            }
            for (int c = 0; c < k; c++)
            {
                var features = allFeatures;
                if (options.FeatureFraction < 1)
                {
                    int m = Math.Max(1, (int)Math.Round(f * options.FeatureFraction));
                    var shuffled = (int[])allFeatures.Clone();
                    for (int i = 0; i < m; i++)
                    {
                        int j = rng.Next(i, f);
                        (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
                    }
                    features = shuffled.AsSpan(0, m).ToArray();
                    Array.Sort(features);
                }
                long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                var tree = learner.Train(grad[c], hess[c], bag, bagCount, features, c);
                trees.Add(tree);
                PhaseTimes.AddSince(ref phases.Trees, t1);
                if (k == 1)
                    for (int leaf = 0; leaf < learner.LeafCount; leaf++)
                        if (objective.RenewLeaf(learner.LeafRows(leaf), scores, labels) is double renewed)
                            tree.LeafValue[leaf] = renewed * options.LearningRate;
                // In-bag rows already sit in their leaves' segments; only out-of-bag rows need a tree walk.
                for (int leaf = 0; leaf < learner.LeafCount; leaf++)
                {
                    double v = tree.LeafValue[leaf];
                    foreach (int r in learner.LeafRows(leaf))
                        scores[r * k + c] += v;
                }
                if (inBag is not null)
                {
                    int cc = c;
                    ForBlocks(n, parallel, (from, to) =>
                    {
                        for (int i = from; i < to; i++)
                            if (!inBag[i])
                                scores[i * k + cc] += tree.LeafValue[tree.GetLeafBinned(train, i)];
                    });
                }
                if (valid is not null)
                {
                    int cc = c;
                    ForBlocks(valid.RowCount, parallel, (from, to) =>
                    {
                        for (int i = from; i < to; i++)
                            vScores![i * k + cc] += tree.LeafValue[tree.GetLeafBinned(valid, i)];
                    });
                }
            }
            long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
            // Gradients for the next round come with this round's training loss in the same pass.
            double trainMetric = CurveValue(
                objective,
                ComputeGradients(objective, scores, labels, grad, hess, n, k, parallel, phases),
                n
            );
            double? validMetric = valid is null
                ? null
                : CurveValue(
                    objective,
                    SumLoss(objective, vScores!, validLabels!, valid.RowCount, parallel),
                    valid.RowCount
                );
            PhaseTimes.AddSince(ref phases.Loss, t3);
            var metrics = new RoundMetrics(
                round + 1,
                trainMetric,
                validMetric,
                System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds
            );
            curve.Add(metrics);
            progress?.Report(new TrainingProgress(stage, round + 1, options.NumRounds, trainMetric, validMetric));
            if (validMetric is double vm)
            {
                if (vm < bestLoss - 1e-12)
                {
                    bestLoss = vm;
                    bestRound = round + 1;
                }
                else if (options.EarlyStoppingRounds > 0 && round + 1 - bestRound >= options.EarlyStoppingRounds)
                    break;
            }
            else
                bestRound = round + 1;
            if (round + 1 < options.NumRounds && continueAfterRound?.Invoke(metrics) == false)
            {
                stoppedAt = round + 1;
                break;
            }
        }
        if (valid is not null && options.EarlyStoppingRounds > 0 && bestRound > 0 && bestRound * k < trees.Count)
            trees.RemoveRange(bestRound * k, trees.Count - bestRound * k);
        if (valid is null || options.EarlyStoppingRounds == 0)
            bestRound = trees.Count / k;
        // Node covers (rows per node) make the ensemble explainable (TreeSHAP); counted once on the final trees.
        var ensemble = Explain.TreeCover.FromBinned(new GbdtEnsemble(k, f, init, trees), train);
        return new GbdtTrainingOutput(ensemble, curve, objective.CurveMetric, bestRound, phases, stoppedAt);
    }

    /// <summary>Fills gradients of every output; returns the summed loss (block sums added in block order:
    /// deterministic).</summary>
    private static double ComputeGradients(
        IObjective objective,
        double[] scores,
        double[] labels,
        float[][] grad,
        float[][] hess,
        int n,
        int k,
        ParallelOptions parallel,
        PhaseTimes phases
    )
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        int blocks = (n + Block - 1) / Block;
        var partial = new double[blocks];
        for (int c = 0; c < k; c++)
        {
            int cc = c;
            Parallel.For(0, blocks, parallel, b =>
            {
                int from = b * Block,
                    to = Math.Min(n, from + Block);
                double l = objective.GradientsAndLoss(scores, labels, cc, from, to, grad[cc], hess[cc]);
                if (cc == 0)
                    partial[b] = l;
            });
        }
        PhaseTimes.AddSince(ref phases.Gradients, t0);
        double s = 0;
        foreach (var p in partial)
            s += p;
        return s;
    }

    private static double CurveValue(IObjective objective, double sum, int n) =>
        objective.CurveMetric == "rmse" ? Math.Sqrt(sum / n) : sum / n;

    /// <summary>Loss summed per fixed block, then blocks summed in order (deterministic for any thread
    /// count).</summary>
    internal static double SumLoss(
        IObjective objective,
        double[] scores,
        double[] labels,
        int n,
        ParallelOptions parallel
    )
    {
        int blocks = (n + Block - 1) / Block;
        var partial = new double[blocks];
        Parallel.For(0, blocks, parallel, b =>
        {
            int from = b * Block,
                to = Math.Min(n, from + Block);
            partial[b] = objective.Loss(scores, labels, from, to);
        });
        double s = 0;
        foreach (var p in partial)
            s += p;
        return s;
    }

    internal static void ForBlocks(int n, ParallelOptions parallel, Action<int, int> body)
    {
        int blocks = (n + Block - 1) / Block;
        Parallel.For(0, blocks, parallel, b => body(b * Block, Math.Min(n, (b + 1) * Block)));
    }
}
