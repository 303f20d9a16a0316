using System.Globalization;
using Mlops.ML.Gbdt;
using Mlops.ML.MlNet;

namespace Mlops.ML.LightGbm;

/// <summary>What LightGBM produced: our converted ensemble, the rounds kept, and LightGBM's model text (for
/// checks).</summary>
internal sealed record LightGbmOutput(GbdtEnsemble Ensemble, int BestRound, string ModelText);

/// <summary>
/// Gradient-boosted trees by native LightGBM through its C API: the featurized row-major float32 matrix goes to
/// LightGBM as it is (no copy, no ML.NET data view), rounds run one call at a time so early stopping on the validation
/// set is ours, and the kept rounds come back as model text that <see cref="LightGbmModelText"/> turns into our
/// <see cref="GbdtEnsemble"/>. Replaces Microsoft.ML's LightGBM wrapper, whose managed data conversion cost about
/// 3 s of a 9.3 s training on 1M × 28 rows (issue 23).
/// </summary>
internal static class LightGbmTrainer
{
    /// <summary>Rows below which one thread is faster: OpenMP's start-up and waiting cost more than small histograms
    /// save.</summary>
    public const int SingleThreadMaxRows = 20_000;

    /// <summary>
    /// Trains <paramref name="o"/>'s rounds on <paramref name="train"/>; with <paramref name="valid"/> and
    /// <see cref="GbdtOptions.EarlyStoppingRounds"/> &gt; 0 stops once the validation loss has not improved for that
    /// many rounds and keeps the best round.
    /// </summary>
    public static LightGbmOutput Train(
        FeatureMatrix train,
        FeatureMatrix? valid,
        MlTask task,
        int classCount,
        GbdtOptions o,
        int seed,
        CancellationToken cancellationToken = default
    )
    {
        if (train.Rows == 0)
            throw new MlException("bad_data", "LightGBM needs at least one training row.");
        string parameters = Parameters(train, task, classCount, o, seed);
        using var trainSet = LightGbmDataset.Create(train.Features, train.Rows, train.Width, train.Labels, parameters);
        using var validSet =
            valid is null || o.EarlyStoppingRounds <= 0
                ? null
                : LightGbmDataset.Create(valid.Features, valid.Rows, valid.Width, valid.Labels, parameters, trainSet);
        using var booster = LightGbmBooster.Create(trainSet, parameters);
        if (validSet is not null)
            booster.AddValidation(validSet);
        int rounds = 0,
            bestRound = 0;
        double bestLoss = double.PositiveInfinity;
        while (rounds < o.NumRounds)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // LightGBM reports "finished" (and adds no tree) when no split gains anything any more.
            if (!booster.UpdateOneRound())
                break;
            rounds++;
            if (validSet is null)
                continue;
            double loss = booster.FirstMetric(1);
            if (loss < bestLoss)
                (bestLoss, bestRound) = (loss, rounds);
            else if (rounds - bestRound >= o.EarlyStoppingRounds)
                break;
        }
        int kept = validSet is null ? rounds : Math.Max(1, bestRound);
        // Even a data set with nothing to split on has its first round's constant tree (the starting score).
        string text = booster.ModelText(Math.Max(kept, 1));
        var ensemble = LightGbmModelText.Parse(text, train.Width);
        return new LightGbmOutput(ensemble, kept, text);
    }

    /// <summary>LightGBM's parameters for our options: the same mapping the Microsoft.ML path used, plus row-wise
    /// histograms.</summary>
    internal static string Parameters(FeatureMatrix train, MlTask task, int classCount, GbdtOptions o, int seed)
    {
        var p = new List<string>
        {
            task switch
            {
                MlTask.Binary => "objective=binary sigmoid=1 metric=binary_logloss",
                MlTask.Multiclass => $"objective=multiclass num_class={classCount} metric=multi_logloss",
                _ => "objective=regression metric=l2",
            },
            $"num_leaves={o.NumLeaves}",
            $"max_depth={(o.MaxDepth > 0 ? o.MaxDepth : -1)}",
            $"learning_rate={D(o.LearningRate)}",
            $"min_data_in_leaf={o.MinDataInLeaf}",
            $"min_sum_hessian_in_leaf={D(o.MinSumHessianInLeaf)}",
            $"lambda_l1={D(o.L1)}",
            $"lambda_l2={D(o.L2)}",
            $"min_gain_to_split={D(o.MinGainToSplit)}",
            $"feature_fraction={D(o.FeatureFraction)}",
            $"bagging_fraction={D(o.BaggingFraction)}",
            $"bagging_freq={(o.BaggingFraction < 1 ? 1 : 0)}",
            $"max_bin={o.MaxBins}",
            $"seed={seed}",
            "deterministic=true",
            $"num_threads={Threads(o.Threads, train.Rows)}",
            "use_missing=true",
            "zero_as_missing=false",
            "verbosity=-1",
            // Measured on 1M × 28 (bench/README-ml.md): row-wise histograms were the fastest of row-wise, col-wise and
            // auto.
            "force_row_wise=true",
        };
        if (o.CategoricalSplit == "native" && train.CategorySlots is { } slots && slots.Any(s => s > 0))
            p.Add(
                "categorical_feature=" + string.Join(',', Enumerable.Range(0, slots.Length).Where(f => slots[f] > 0))
            );
        return string.Join(' ', p);
    }

    private static int Threads(int requested, int rows) =>
        requested > 0 ? requested
        : rows < SingleThreadMaxRows ? 1
        : Environment.ProcessorCount;

    private static string D(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
