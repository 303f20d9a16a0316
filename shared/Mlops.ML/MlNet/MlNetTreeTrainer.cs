using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Mlops.ML.Gbdt;
using RegressionTree = Mlops.ML.Gbdt.RegressionTree;

namespace Mlops.ML.MlNet;

/// <summary>
/// Featurized training rows handed to an ML.NET learner: row-major features (rows × width, categories as codes), encoded
/// labels, and per feature the one-hot slot count of categorical features (null or 0: numeric).
/// </summary>
internal sealed record FeatureMatrix(float[] Features, int Rows, int Width, double[] Labels, int[]? CategorySlots = null)
{
    /// <summary>Categorical features as one-hot blocks (for native category splits), or every feature as one slot.</summary>
    public SlotLayout Layout(bool nativeCategories)
        => nativeCategories && CategorySlots is { } slots && slots.Any(s => s > 0) ? new SlotLayout(slots) : SlotLayout.Plain(Width);

    public IDataView ToDataView(MLContext ml, MlTask task, int classCount, SlotLayout? layout = null)
        => FeatureDataView.Create(ml, Features, Rows, Width, Labels, task, classCount, layout);
}

/// <summary>What an ML.NET learner produced: our converted ensemble, the rounds kept, and ML.NET's own model (for checks).</summary>
internal sealed record MlNetTreeOutput(GbdtEnsemble Ensemble, int BestRound, ITransformer Transformer, MLContext Context, SlotLayout Layout);

/// <summary>
/// Trains gradient-boosted trees with Microsoft.ML's LightGBM (native LightGBM underneath) and random forests with
/// Microsoft.ML's FastForest, then converts the trees into our <see cref="GbdtEnsemble"/> (see <see cref="TreeConverter"/>),
/// folding the learner's link (LightGBM's sigmoid, a Platt calibrator, a forest's averaging) into leaf values and the
/// initial score, so our predictor returns the same probabilities as ML.NET.
/// </summary>
internal static class MlNetTreeTrainer
{
    /// <summary>LightGBM with our <see cref="GbdtOptions"/> mapped to its parameters; <paramref name="valid"/> enables early stopping.</summary>
    public static MlNetTreeOutput TrainLightGbm(FeatureMatrix train, FeatureMatrix? valid, MlTask task, int classCount, GbdtOptions o, int seed)
    {
        OpenMpWaitPolicy.EnsurePassive();
        var ml = new MLContext(seed);
        var layout = train.Layout(nativeCategories: o.CategoricalSplit == "native");
        bool categorical = layout.Width != train.Width;
        var trainView = train.ToDataView(ml, task, classCount, layout);
        var validView = valid?.ToDataView(ml, task, classCount, layout);
        int stopping = valid is null ? 0 : o.EarlyStoppingRounds;
        var booster = new GradientBooster.Options
        {
            L1Regularization = o.L1, L2Regularization = o.L2, MinimumSplitGain = o.MinGainToSplit,
            MaximumTreeDepth = o.MaxDepth > 0 ? o.MaxDepth : 0, MinimumChildWeight = o.MinSumHessianInLeaf,
            FeatureFraction = o.FeatureFraction, SubsampleFraction = o.BaggingFraction, SubsampleFrequency = o.BaggingFraction < 1 ? 1 : 0,
        };
        int threads = Threads(o.Threads, train.Rows);
        switch (task)
        {
            case MlTask.Binary:
            {
                var options = new LightGbmBinaryTrainer.Options
                {
                    NumberOfIterations = o.NumRounds, LearningRate = o.LearningRate, NumberOfLeaves = o.NumLeaves,
                    MinimumExampleCountPerLeaf = o.MinDataInLeaf, MaximumBinCountPerFeature = o.MaxBins, NumberOfThreads = threads,
                    EarlyStoppingRound = stopping, Seed = seed, Deterministic = true, Silent = true, Verbose = false,
                    HandleMissingValue = true, UseZeroAsMissingValue = false, UseCategoricalSplit = categorical, Sigmoid = 1.0,
                    Booster = booster,
                };
                var trainer = ml.BinaryClassification.Trainers.LightGbm(options);
                var model = validView is null ? trainer.Fit(trainView) : trainer.Fit(trainView, validView);
                var calibrated = model.Model;
                var platt = calibrated.Calibrator as PlattCalibrator
                    ?? throw new MlException("unsupported_model", "ML.NET's LightGBM returned a calibrator other than Platt's.");
                // ML.NET: P = 1 / (1 + exp(slope · raw + offset)) = sigmoid(−slope · raw − offset).
                var (trees, bias) = TreeConverter.Convert(calibrated.SubModel.TrainedTreeEnsemble, 0, layout, -platt.Slope);
                var ensemble = new GbdtEnsemble(1, train.Width, [bias - platt.Offset], trees);
                return new MlNetTreeOutput(ensemble, trees.Count, model, ml, layout);
            }
            case MlTask.Multiclass:
            {
                var options = new LightGbmMulticlassTrainer.Options
                {
                    NumberOfIterations = o.NumRounds, LearningRate = o.LearningRate, NumberOfLeaves = o.NumLeaves,
                    MinimumExampleCountPerLeaf = o.MinDataInLeaf, MaximumBinCountPerFeature = o.MaxBins, NumberOfThreads = threads,
                    EarlyStoppingRound = stopping, Seed = seed, Deterministic = true, Silent = true, Verbose = false,
                    HandleMissingValue = true, UseZeroAsMissingValue = false, UseCategoricalSplit = categorical, UseSoftmax = true,
                    Booster = booster,
                };
                var trainer = ml.MulticlassClassification.Trainers.LightGbm(options);
                var model = validView is null ? trainer.Fit(trainView) : trainer.Fit(trainView, validView);
                var perClass = SubModels(model.Model);
                if (perClass.Count != classCount) throw new MlException("unsupported_model", $"ML.NET's LightGBM returned {perClass.Count} class models for {classCount} classes.");
                var trees = new List<RegressionTree>();
                var init = new double[classCount];
                // Our ensemble adds trees in list order per class; interleave rounds as LightGBM grew them.
                var converted = new List<(List<RegressionTree> Trees, double Bias)>();
                for (int c = 0; c < classCount; c++)
                {
                    // Softmax combines the class models' raw outputs; each arrives wrapped with an (unused) calibrator.
                    var sub = (perClass[c] is CalibratedModelParametersBase<LightGbmBinaryModelParameters, PlattCalibrator> wrapped ? wrapped.SubModel : perClass[c] as TreeEnsembleModelParametersBasedOnRegressionTree)
                        ?? throw new MlException("unsupported_model", $"ML.NET's LightGBM class model {c} is a {perClass[c].GetType().Name}, not a tree ensemble.");
                    converted.Add(TreeConverter.Convert(sub.TrainedTreeEnsemble, c, layout));
                    init[c] = converted[c].Bias;
                }
                int rounds = converted.Max(x => x.Trees.Count);
                for (int r = 0; r < rounds; r++)
                    foreach (var (classTrees, _) in converted)
                        if (r < classTrees.Count) trees.Add(classTrees[r]);
                return new MlNetTreeOutput(new GbdtEnsemble(classCount, train.Width, init, trees), rounds, model, ml, layout);
            }
            default:
            {
                var options = new LightGbmRegressionTrainer.Options
                {
                    NumberOfIterations = o.NumRounds, LearningRate = o.LearningRate, NumberOfLeaves = o.NumLeaves,
                    MinimumExampleCountPerLeaf = o.MinDataInLeaf, MaximumBinCountPerFeature = o.MaxBins, NumberOfThreads = threads,
                    EarlyStoppingRound = stopping, Seed = seed, Deterministic = true, Silent = true, Verbose = false,
                    HandleMissingValue = true, UseZeroAsMissingValue = false, UseCategoricalSplit = categorical,
                    Booster = booster,
                };
                var trainer = ml.Regression.Trainers.LightGbm(options);
                var model = validView is null ? trainer.Fit(trainView) : trainer.Fit(trainView, validView);
                var (trees, bias) = TreeConverter.Convert(model.Model.TrainedTreeEnsemble, 0, layout);
                return new MlNetTreeOutput(new GbdtEnsemble(1, train.Width, [bias], trees), trees.Count, model, ml, layout);
            }
        }
    }

    /// <summary>Rows below which one thread is faster: OpenMP's start-up and spin-waiting cost more than small histograms save.</summary>
    public const int SingleThreadMaxRows = 20_000;

    private static int Threads(int requested, int rows)
        => requested > 0 ? requested : rows < SingleThreadMaxRows ? 1 : Environment.ProcessorCount;

    // OneVersusAllModelParameters keeps its per-class models behind a non-public property in this ML.NET version.
    private static IReadOnlyList<object> SubModels(OneVersusAllModelParameters ova)
    {
        var property = typeof(OneVersusAllModelParameters).GetProperty("SubModelParameters", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
            ?? throw new MlException("unsupported_model", "This ML.NET version hides its multiclass LightGBM class models; the model cannot be converted.");
        return ((System.Collections.IEnumerable)property.GetValue(ova)!).Cast<object>().ToList();
    }

    /// <summary>
    /// FastForest (bagged trees on feature subsets), binary or regression. A binary forest's averaged score has no
    /// probability of its own, so a Platt calibrator is fitted on <paramref name="calibration"/> (held-out rows when given,
    /// otherwise the training rows) and folded into the trees.
    /// </summary>
    public static MlNetTreeOutput TrainFastForest(FeatureMatrix train, FeatureMatrix? calibration, MlTask task, ForestOptions o, int seed)
    {
        if (task == MlTask.Multiclass) throw new MlException("bad_options", "The forest trainer supports binary classification and regression only.");
        var ml = new MLContext(seed);
        var trainView = train.ToDataView(ml, task, 2);
        int threads = Threads(o.Threads, train.Rows);
        ITransformer forest;
        QuantileRegressionTreeEnsemble ensemble;
        if (task == MlTask.Binary)
        {
            var fitted = ml.BinaryClassification.Trainers.FastForest(Configure(new FastForestBinaryTrainer.Options(), o, threads, seed)).Fit(trainView);
            (forest, ensemble) = (fitted, fitted.Model.TrainedTreeEnsemble);
        }
        else
        {
            var fitted = ml.Regression.Trainers.FastForest(Configure(new FastForestRegressionTrainer.Options(), o, threads, seed)).Fit(trainView);
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
        return new MlNetTreeOutput(new GbdtEnsemble(1, train.Width, [bias + offset], trees), trees.Count, forest, ml, plain);
    }

    private static T Configure<T>(T options, ForestOptions o, int threads, int seed) where T : TreeOptions
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
