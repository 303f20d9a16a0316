using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.LightGbm;
using Mlops.ML.MlNet;
using Mlops.ML.Models;
using Mlops.ML.Objectives;

namespace Mlops.ML.Training;

/// <summary>
/// Trains the tree models behind <see cref="ModelTrainer"/>: gradient boosting by native LightGBM (its C API) or by our
/// own
/// <see cref="GbdtTrainer"/> (see <see cref="GbdtOptions.Engine"/>), and random forests by Microsoft.ML's FastForest.
/// Every engine sees the same featurized columns and ends in our <see cref="GbdtEnsemble"/>, so serving, batch
/// prediction and ONNX export do not depend on which one trained the trees.
/// </summary>
internal static class TreeModelTraining
{
    public static TrainingResult TrainGbdt(
        DataTable data,
        ModelTrainer.EncodedTarget y,
        TrainingSpec spec,
        IReadOnlyDictionary<string, object> values,
        string hash,
        IProgress<TrainingProgress>? progress,
        string stage,
        CancellationToken ct
    )
    {
        var o = GbdtOptions.ForTraining(values, spec.Task, data.RowCount);
        if (spec.ContinueAfterRound is not null)
        {
            // Only our engine reports its rounds to the caller that decides whether to continue.
            if (o.Engine == "lightgbm")
                throw new ArgumentException(
                    "early termination needs engine mlops (or auto): engine lightgbm cannot stop between rounds.",
                    "engine"
                );
            o = o with { Engine = "mlops" };
        }
        int classCount = spec.Task == MlTask.Regression ? 1 : y.Classes.Length;
        // Order category codes by mean target (binary, regression) so threshold splits on codes group similar
        // categories.
        var fz = Featurizer.Fit(
            data,
            spec.Target,
            spec.Task == MlTask.Multiclass ? null : y.Y,
            spec.Featurization,
            spec.IgnoreColumns ?? []
        );
        var parts = ValidationSplit(data, y, spec, o.EarlyStoppingRounds > 0 ? o.ValidationFraction : 0);
        GbdtEnsemble ensemble;
        IReadOnlyList<RoundMetrics> curve;
        string curveMetric;
        int best;
        string objectiveName;
        int? stoppedAt = null;
        if (o.ResolvedEngine(spec.Task, data.RowCount) == "lightgbm")
        {
            ct.ThrowIfCancellationRequested();
            var train = Matrix(fz, parts.Train, parts.YTrain);
            var valid = parts.Valid is null ? null : Matrix(fz, parts.Valid, parts.YValid);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var output = LightGbmTrainer.Train(train, valid, spec.Task, classCount, o, spec.Seed, ct);
            // LightGBM's own node counts are the covers when every training row took part (no bagging) and every
            // tree has them; otherwise count the training rows through the trees (about 1.4 s on 1M × 28).
            ensemble =
                o.BaggingFraction >= 1 && output.Ensemble.Trees.All(t => t.Cover is not null)
                    ? output.Ensemble
                    : Explain.TreeCover.FromRows(output.Ensemble, train.Features, train.Rows);
            best = output.BestRound;
            objectiveName = Objective.For(spec.Task, classCount).Name;
            (curve, curveMetric) = StagedCurves.Boosted(ensemble, spec.Task, train, valid, clock.Elapsed.TotalSeconds);
            progress?.Report(new TrainingProgress(stage, best, o.NumRounds, curve[^1].Train, curve[^1].Validation));
        }
        else
        {
            var parallel = new ParallelOptions
            {
                MaxDegreeOfParallelism = o.Threads > 0 ? o.Threads : Environment.ProcessorCount,
                CancellationToken = ct,
            };
            var binned = BinnedDataset.Build(fz, fz.Bind(parts.Train), o, spec.Seed, parallel);
            var vBinned = parts.Valid is null
                ? null
                : BinnedDataset.BuildWith(fz, fz.Bind(parts.Valid), binned.Mappers, parallel);
            var objective = Objective.For(spec.Task, classCount, o.Objective, o.HuberDelta);
            var output = GbdtTrainer.Train(
                binned,
                parts.YTrain,
                vBinned,
                vBinned is null ? null : parts.YValid,
                objective,
                o,
                spec.Seed,
                progress,
                stage,
                ct,
                spec.ContinueAfterRound
            );
            (ensemble, curve, curveMetric, best, objectiveName, stoppedAt) = (
                output.Ensemble,
                output.Curve,
                output.CurveMetric,
                output.BestRound,
                objective.Name,
                output.StoppedAtRound
            );
        }
        var options = o.ToDictionary();
        options["engine"] = o.ResolvedEngine(spec.Task, data.RowCount);
        var meta = ModelTrainer.Metadata(hash, data.RowCount, objectiveName, best, options, spec.Seed);
        var model = new Model(spec.Task, spec.Target, y.Classes, TrainerKind.Gbdt, fz, ensemble, meta);
        return new TrainingResult(
            model,
            TrainerKind.Gbdt,
            curve,
            curveMetric,
            best,
            new Dictionary<string, double>(),
            null,
            TimeSpan.Zero,
            stoppedAt
        );
    }

    public static TrainingResult TrainForest(
        DataTable data,
        ModelTrainer.EncodedTarget y,
        TrainingSpec spec,
        IReadOnlyDictionary<string, object> values,
        string hash,
        IProgress<TrainingProgress>? progress,
        string stage,
        CancellationToken ct
    )
    {
        var o = ForestOptions.FromDictionary(values);
        ct.ThrowIfCancellationRequested();
        var fz = Featurizer.Fit(
            data,
            spec.Target,
            spec.Task == MlTask.Multiclass ? null : y.Y,
            spec.Featurization,
            spec.IgnoreColumns ?? []
        );
        var train = Matrix(fz, data, y.Y);
        FeatureMatrix? calibration = null;
        if (spec.Validation is not null)
        {
            var yValid = EncodeValidation(spec, y, spec.Validation, out var kept);
            calibration = Matrix(fz, kept, yValid);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var output = MlNetTreeTrainer.TrainFastForest(train, calibration, spec.Task, o, spec.Seed);
        var (curve, curveMetric) = StagedCurves.Averaged(
            output.Ensemble,
            spec.Task,
            train,
            calibration,
            clock.Elapsed.TotalSeconds
        );
        progress?.Report(
            new TrainingProgress(stage, output.BestRound, o.NumTrees, curve[^1].Train, curve[^1].Validation)
        );
        var meta = ModelTrainer.Metadata(
            hash,
            data.RowCount,
            spec.Task == MlTask.Binary ? "forest_platt" : "forest_mean",
            output.BestRound,
            o.ToDictionary(),
            spec.Seed
        );
        var model = new Model(
            spec.Task,
            spec.Target,
            y.Classes,
            TrainerKind.Forest,
            fz,
            Explain.TreeCover.FromRows(output.Ensemble, train.Features, train.Rows),
            meta
        );
        return new TrainingResult(
            model,
            TrainerKind.Forest,
            curve,
            curveMetric,
            output.BestRound,
            new Dictionary<string, double>(),
            null,
            TimeSpan.Zero
        );
    }

    /// <summary>Training rows and, when early stopping or a given validation set asks for it, validation rows with
    /// encoded targets.</summary>
    internal sealed record Parts(DataTable Train, double[] YTrain, DataTable? Valid, double[] YValid);

    /// <summary>
    /// The spec's validation set when it has one; otherwise, with <paramref name="holdoutFraction"/> &gt; 0, a seeded
    /// random holdout of the training rows; otherwise no validation rows.
    /// </summary>
    internal static Parts ValidationSplit(
        DataTable data,
        ModelTrainer.EncodedTarget y,
        TrainingSpec spec,
        double holdoutFraction
    )
    {
        if (spec.Validation is not null)
        {
            var yValid = EncodeValidation(spec, y, spec.Validation, out var kept);
            return new Parts(data, y.Y, kept, yValid);
        }
        if (holdoutFraction <= 0)
            return new Parts(data, y.Y, null, []);
        var rng = new Random(spec.Seed ^ 0x5eed);
        var perm = Enumerable.Range(0, data.RowCount).OrderBy(_ => rng.Next()).ToArray();
        int nValid = Math.Max(1, (int)(data.RowCount * holdoutFraction));
        var vRows = perm.Take(nValid).Order().ToArray();
        var tRows = perm.Skip(nValid).Order().ToArray();
        return new Parts(
            data.SelectRows(tRows),
            tRows.Select(i => y.Y[i]).ToArray(),
            data.SelectRows(vRows),
            vRows.Select(i => y.Y[i]).ToArray()
        );
    }

    internal static FeatureMatrix Matrix(Featurizer fz, DataTable part, double[] labels)
    {
        var bound = fz.Bind(part);
        int n = part.RowCount,
            f = fz.FeatureCount;
        var features = new float[(long)n * f];
        const int Block = 16_384;
        Parallel.For(0, (n + Block - 1) / Block, b =>
        {
            int start = b * Block,
                count = Math.Min(Block, n - start);
            fz.FillRows(bound, start, count, features.AsSpan(start * f, count * f));
        });
        var categorySlots = fz.Features.Select(d => d.IsCategorical ? d.CategoryCount + 1 : 0).ToArray();
        return new FeatureMatrix(features, n, f, labels, categorySlots);
    }

    internal static double[] EncodeValidation(
        TrainingSpec spec,
        ModelTrainer.EncodedTarget y,
        DataTable validation,
        out DataTable kept
    )
    {
        var col = validation.Find(spec.Target)
            ?? throw new MlException("bad_target", $"The validation data has no target column '{spec.Target}'.");
        var rows = Enumerable.Range(0, validation.RowCount).Where(i => !col.IsMissing(i)).ToArray();
        kept = rows.Length == validation.RowCount ? validation : validation.SelectRows(rows);
        col = kept[spec.Target];
        if (spec.Task == MlTask.Regression)
            return Labels.AsNumbers(col);
        var index = y.Classes.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => (double)t.i, StringComparer.Ordinal);
        var labels = Labels.AsStrings(col);
        var result = new double[labels.Length];
        for (int i = 0; i < labels.Length; i++)
            result[i] = index.TryGetValue(labels[i]!, out var v)
                ? v
                : throw new MlException(
                    "bad_target",
                    $"The validation data has class '{labels[i]}', which the training data lacks."
                );
        return result;
    }
}
