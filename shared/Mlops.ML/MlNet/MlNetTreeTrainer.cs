using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;
using Mlops.ML.Gbdt;

namespace Mlops.ML.MlNet;

/// <summary>
/// Featurized training rows handed to an ML.NET learner: row-major features (rows × width, categories as codes),
/// encoded labels, and per feature the one-hot slot count of categorical features (null or 0: numeric).
/// </summary>
internal sealed record FeatureMatrix(
    float[] Features,
    int Rows,
    int Width,
    double[] Labels,
    int[]? CategorySlots = null
)
{
    public IDataView ToDataView(MLContext ml, MlTask task, int classCount, SlotLayout? layout = null) =>
        FeatureDataView.Create(ml, Features, Rows, Width, Labels, task, classCount, layout);
}

/// <summary>What an ML.NET learner produced: our converted ensemble, the rounds kept, and ML.NET's own model (for
/// checks).</summary>
internal sealed record MlNetTreeOutput(
    GbdtEnsemble Ensemble,
    int BestRound,
    ITransformer Transformer,
    MLContext Context,
    SlotLayout Layout
);

/// <summary>
/// Trains random forests with Microsoft.ML's FastForest, then converts the trees into our <see cref="GbdtEnsemble"/>
/// (see <see cref="TreeConverter"/>), folding the forest's averaging and its Platt calibrator into leaf values and the
/// initial score, so our predictor returns the same probabilities as ML.NET. (Gradient boosting by LightGBM calls the
/// native library directly: <see cref="LightGbm.LightGbmTrainer"/>.)
/// </summary>
internal static class MlNetTreeTrainer
{
    /// <summary>Rows below which one thread is faster: OpenMP's start-up and spin-waiting cost more than small
    /// histograms save.</summary>
    public const int SingleThreadMaxRows = 20_000;

    private static int Threads(int requested, int rows) =>
        requested > 0 ? requested
        : rows < SingleThreadMaxRows ? 1
        : Environment.ProcessorCount;

    /// <summary>
    /// FastForest (bagged trees on feature subsets), binary or regression. A binary forest's averaged score has no
    /// probability of its own, so a Platt calibrator is fitted on <paramref name="calibration"/> (held-out rows when
    /// given, otherwise the training rows) and folded into the trees.
    /// </summary>
    public static MlNetTreeOutput TrainFastForest(
        FeatureMatrix train,
        FeatureMatrix? calibration,
        MlTask task,
        ForestOptions o,
        int seed
    )
    {
        if (task == MlTask.Multiclass)
            throw new MlException(
                "bad_options",
                "The forest trainer supports binary classification and regression only."
            );
        var ml = new MLContext(seed);
        var trainView = train.ToDataView(ml, task, 2);
        int threads = Threads(o.Threads, train.Rows);
        ITransformer forest;
        QuantileRegressionTreeEnsemble ensemble;
        if (task == MlTask.Binary)
        {
            var fitted = ml
                .BinaryClassification.Trainers.FastForest(
                    Configure(new FastForestBinaryTrainer.Options(), o, threads, seed)
                )
                .Fit(trainView);
            (forest, ensemble) = (fitted, fitted.Model.TrainedTreeEnsemble);
        }
        else
        {
            var fitted = ml
                .Regression.Trainers.FastForest(Configure(new FastForestRegressionTrainer.Options(), o, threads, seed))
                .Fit(trainView);
            (forest, ensemble) = (fitted, fitted.Model.TrainedTreeEnsemble);
        }
        // A forest predicts the mean of its trees.
        double average = 1.0 / Math.Max(1, ensemble.Trees.Count);
        var plain = SlotLayout.Plain(train.Width);
        var (raw, rawBias) = TreeConverter.Convert(ensemble, 0, plain, average);
        if (task == MlTask.Regression)
            return new MlNetTreeOutput(new GbdtEnsemble(1, train.Width, [rawBias], raw), raw.Count, forest, ml, plain);
        var cal = calibration ?? train;
        var scores = new double[cal.Rows];
        new GbdtEnsemble(1, train.Width, [rawBias], raw).Predict(cal.Features, cal.Rows, scores);
        var (slope, offset) = PlattScaling.Fit(scores, cal.Labels);
        var (trees, bias) = TreeConverter.Convert(ensemble, 0, plain, slope * average);
        return new MlNetTreeOutput(
            new GbdtEnsemble(1, train.Width, [bias + offset], trees),
            trees.Count,
            forest,
            ml,
            plain
        );
    }

    private static T Configure<T>(T options, ForestOptions o, int threads, int seed)
        where T : TreeOptions
    {
        options.NumberOfTrees = o.NumTrees;
        options.NumberOfLeaves = o.NumLeaves;
        options.MinimumExampleCountPerLeaf = o.MinDataInLeaf;
        options.FeatureFraction = o.FeatureFraction;
        options.NumberOfThreads = threads;
        options.Seed = seed;
        options.FeatureSelectionSeed = seed;
        return options;
    }
}
