using Mlops.ML.Gbdt;
using Mlops.ML.MlNet;
using Mlops.ML.Objectives;

namespace Mlops.ML.Training;

/// <summary>
/// Learning curves, one point per round, for ensembles trained in one call by Microsoft.ML (LightGBM, FastForest),
/// which report no per-round metrics. The converted ensemble is replayed tree by tree on at most <see
/// cref="SampleRows"/> rows (the first ones: deterministic), accumulating scores, so the whole curve costs one
/// prediction pass over the sample. Elapsed time per round is the measured training time spread evenly over the rounds:
/// Microsoft.ML gives no timestamps.
/// </summary>
internal static class StagedCurves
{
    /// <summary>Rows of training and validation data scored per curve.</summary>
    public const int SampleRows = 20_000;

    /// <summary>Boosting: the model after round r is the initial score plus the first r trees of each output.</summary>
    public static (IReadOnlyList<RoundMetrics> Curve, string Metric) Boosted(
        GbdtEnsemble ensemble,
        MlTask task,
        FeatureMatrix train,
        FeatureMatrix? valid,
        double trainSeconds
    ) => Build(ensemble, task, train, valid, trainSeconds, averaged: false);

    /// <summary>
    /// Forests: the model after r trees is their average. Converted forests fold the 1/T averaging (and a binary
    /// forest's Platt slope) into the leaves, so the partial sum of r trees is scaled by T/r.
    /// </summary>
    public static (IReadOnlyList<RoundMetrics> Curve, string Metric) Averaged(
        GbdtEnsemble ensemble,
        MlTask task,
        FeatureMatrix train,
        FeatureMatrix? valid,
        double trainSeconds
    ) => Build(ensemble, task, train, valid, trainSeconds, averaged: true);

    private static (IReadOnlyList<RoundMetrics>, string) Build(
        GbdtEnsemble ensemble,
        MlTask task,
        FeatureMatrix train,
        FeatureMatrix? valid,
        double trainSeconds,
        bool averaged
    )
    {
        int k = ensemble.OutputCount;
        var objective = Objective.For(task, task == MlTask.Regression ? 1 : Math.Max(2, k));
        var byOutput = Enumerable.Range(0, k).Select(c => ensemble.Trees.Where(t => t.Class == c).ToList()).ToArray();
        int rounds = byOutput.Min(list => list.Count);
        if (rounds == 0)
            return (
                [
                    new RoundMetrics(
                        0,
                        Loss(objective, Scores(ensemble, train), train),
                        valid is null ? null : Loss(objective, Scores(ensemble, valid), valid),
                        trainSeconds
                    ),
                ],
                objective.CurveMetric
            );

        var trainSums = new SampleScores(train, k);
        var validSums = valid is null ? null : new SampleScores(valid, k);
        var curve = new List<RoundMetrics>(rounds);
        for (int r = 0; r < rounds; r++)
        {
            for (int c = 0; c < k; c++)
            {
                var single = new GbdtEnsemble(k, ensemble.FeatureCount, new double[k], [byOutput[c][r]]);
                trainSums.Add(single);
                validSums?.Add(single);
            }
            double scale = averaged ? (double)rounds / (r + 1) : 1;
            curve.Add(
                new RoundMetrics(
                    r + 1,
                    Loss(objective, trainSums.At(ensemble.InitialScores, scale), train),
                    validSums is null ? null : Loss(objective, validSums.At(ensemble.InitialScores, scale), valid!),
                    trainSeconds * (r + 1) / rounds
                )
            );
        }
        return (curve, objective.CurveMetric);
    }

    private static double[] Scores(GbdtEnsemble ensemble, FeatureMatrix m)
    {
        int rows = Math.Min(m.Rows, SampleRows);
        var scores = new double[(long)rows * ensemble.OutputCount];
        ensemble.Predict(m.Features.AsSpan(0, rows * m.Width), rows, scores);
        return scores;
    }

    private static double Loss(IObjective objective, double[] scores, FeatureMatrix m)
    {
        int rows = Math.Min(m.Rows, SampleRows);
        double sum = objective.Loss(scores, m.Labels, 0, rows);
        return objective.CurveMetric == "rmse" ? Math.Sqrt(sum / rows) : sum / rows;
    }

    /// <summary>Running sum of tree outputs over the sampled rows, without initial scores.</summary>
    private sealed class SampleScores(FeatureMatrix m, int outputs)
    {
        private readonly int rows = Math.Min(m.Rows, SampleRows);
        private readonly double[] sum = new double[(long)Math.Min(m.Rows, SampleRows) * outputs];
        private readonly double[] buffer = new double[(long)Math.Min(m.Rows, SampleRows) * outputs];

        public void Add(GbdtEnsemble singleTree)
        {
            singleTree.Predict(m.Features.AsSpan(0, rows * m.Width), rows, buffer);
            for (int i = 0; i < sum.Length; i++)
                sum[i] += buffer[i];
        }

        public double[] At(double[] initial, double scale)
        {
            var scores = new double[sum.Length];
            for (int i = 0; i < scores.Length; i++)
                scores[i] = initial[i % outputs] + scale * sum[i];
            return scores;
        }
    }
}
