using System.Diagnostics;
using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.Linear;
using Mlops.ML.Metrics;
using Mlops.ML.Models;
using Mlops.ML.Objectives;

namespace Mlops.ML.Training;

/// <summary>
/// The one entry point for training: validates the spec, encodes the target, fits the featurizer, runs the chosen trainer
/// (or, for <see cref="TrainerKind.Auto"/>, compares GBDT and linear models by 5-fold cross-validation — one 80/20 split
/// above 20,000 rows — preferring the linear model unless GBDT wins by more than one standard error, then retrains the
/// winner on everything) and packages an immutable <see cref="Model"/> with its metadata.
/// </summary>
public static class ModelTrainer
{
    /// <summary>Below this many rows Auto compares candidates by 5-fold cross-validation instead of one 80/20 split.</summary>
    public const int CrossValidationMaxRows = 20_000;

    /// <exception cref="MlException">Bad target (missing column, wrong class count, non-numeric regression target) or no usable features.</exception>
    /// <exception cref="ArgumentException">An unknown or invalid hyperparameter (the message names it).</exception>
    public static TrainingResult Train(DataTable data, TrainingSpec spec, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(spec);
        var sw = Stopwatch.StartNew();
        var (gbdtOptions, linearOptions) = SplitOptions(spec);
        var target = data.Find(spec.Target) ?? throw new MlException("bad_target", $"Target column '{spec.Target}' is not in the data. Columns: {string.Join(", ", data.ColumnNames)}.");
        // Rows without a target cannot teach anything.
        var labelled = Enumerable.Range(0, data.RowCount).Where(i => !target.IsMissing(i)).ToArray();
        if (labelled.Length < 2) throw new MlException("bad_target", $"Target column '{spec.Target}' has fewer than two non-missing values.");
        if (labelled.Length < data.RowCount) data = data.SelectRows(labelled);
        var encoded = EncodeTarget(data, spec);
        string hash = DataHash.Compute(data);

        if (spec.Trainer != TrainerKind.Auto)
        {
            var one = TrainOne(spec.Trainer, data, encoded, spec, gbdtOptions, linearOptions, hash, progress, spec.Trainer.ToName(), cancellationToken);
            return one with { Elapsed = sw.Elapsed };
        }

        var (metricName, higher) = SelectionMetric(spec.Task);
        var scores = new Dictionary<string, double>();
        var perFold = new Dictionary<TrainerKind, List<double>>();
        var folds = MakeFolds(encoded, data.RowCount <= CrossValidationMaxRows ? 5 : 1, spec.Seed);
        foreach (var kind in new[] { TrainerKind.Gbdt, TrainerKind.Linear })
        {
            perFold[kind] = [];
            foreach (var (trainRows, validRows) in folds)
            {
                var trainPart = data.SelectRows(trainRows);
                var validPart = data.SelectRows(validRows);
                var r = TrainOne(kind, trainPart, EncodeTarget(trainPart, spec), spec with { Validation = null }, gbdtOptions, linearOptions, hash, progress, "auto:" + kind.ToName(), cancellationToken);
                perFold[kind].Add(Evaluator.Evaluate(r.Model, validPart).Metrics[metricName]);
            }
            scores[kind.ToName()] = perFold[kind].Average();
        }
        var winner = ChooseWithOneStandardError(perFold[TrainerKind.Gbdt], perFold[TrainerKind.Linear], higher);
        var final = TrainOne(winner, data, encoded, spec, gbdtOptions, linearOptions, hash, progress, winner.ToName(), cancellationToken);
        var tags = new Dictionary<string, string> { ["auto.selection_metric"] = metricName };
        foreach (var (k, v) in scores) tags["auto." + k] = v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return final with { Model = final.Model.WithTags(tags), CandidateScores = scores, SelectionMetric = metricName, Elapsed = sw.Elapsed };
    }

    /// <summary>
    /// Picks GBDT only when it beats the linear model by more than one standard error of the paired per-fold differences
    /// (Breiman's one-standard-error rule: on small data a difference inside the noise should not buy the more complex model).
    /// With a single holdout split there is no error estimate and the better score wins.
    /// </summary>
    private static TrainerKind ChooseWithOneStandardError(List<double> gbdt, List<double> linear, bool higherIsBetter)
    {
        int k = gbdt.Count;
        var gain = Enumerable.Range(0, k).Select(i => higherIsBetter ? gbdt[i] - linear[i] : linear[i] - gbdt[i]).ToArray();
        double mean = gain.Average();
        if (k < 2) return mean > 0 ? TrainerKind.Gbdt : TrainerKind.Linear;
        double sd = Math.Sqrt(gain.Sum(g => (g - mean) * (g - mean)) / (k - 1));
        return mean > sd / Math.Sqrt(k) ? TrainerKind.Gbdt : TrainerKind.Linear;
    }

    /// <summary>Metric Auto compares candidates with: auc for binary, logloss for multiclass (smoother than accuracy on small data), rmse for regression.</summary>
    public static (string Name, bool HigherIsBetter) SelectionMetric(MlTask task) => task switch
    {
        MlTask.Binary => ("auc", true),
        MlTask.Multiclass => ("logloss", false),
        _ => ("rmse", false),
    };

    /// <summary>The encoded target: label index (classification) or value (regression), plus the classes.</summary>
    internal sealed record EncodedTarget(double[] Y, string[] Classes);

    private static EncodedTarget EncodeTarget(DataTable data, TrainingSpec spec)
    {
        var col = data[spec.Target];
        if (spec.Task == MlTask.Regression) return new EncodedTarget(Labels.AsNumbers(col), []);
        var labels = Labels.AsStrings(col);
        var classes = Labels.SortClasses(labels.Select(s => s!));
        if (spec.Task == MlTask.Binary && classes.Length != 2)
            throw new MlException("bad_target", $"Binary classification needs exactly 2 classes in '{spec.Target}', found {classes.Length}" + (classes.Length <= 10 ? $": {string.Join(", ", classes)}." : "."));
        if (spec.Task == MlTask.Multiclass && classes.Length < 2)
            throw new MlException("bad_target", $"Multiclass classification needs at least 2 classes in '{spec.Target}'.");
        if (classes.Length > 1000)
            throw new MlException("bad_target", $"'{spec.Target}' has {classes.Length} distinct values; is this a regression target?");
        var index = classes.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => (double)t.i, StringComparer.Ordinal);
        return new EncodedTarget(labels.Select(s => index[s!]).ToArray(), classes);
    }

    private static (IReadOnlyDictionary<string, object> Gbdt, IReadOnlyDictionary<string, object> Linear) SplitOptions(TrainingSpec spec)
    {
        var g = new Dictionary<string, object>();
        var l = new Dictionary<string, object>();
        foreach (var (key, value) in spec.Options ?? new Dictionary<string, object>())
        {
            if (key.StartsWith("gbdt.", StringComparison.Ordinal)) { g[key[5..]] = value; continue; }
            if (key.StartsWith("linear.", StringComparison.Ordinal)) { l[key[7..]] = value; continue; }
            bool known = false;
            if (spec.Trainer != TrainerKind.Linear && GbdtOptions.Names.Contains(key)) { g[key] = value; known = true; }
            if (spec.Trainer != TrainerKind.Gbdt && LinearOptions.Names.Contains(key)) { l[key] = value; known = true; }
            if (!known)
                throw new ArgumentException($"Unknown option '{key}' for trainer {spec.Trainer.ToName()}. GBDT options: {string.Join(", ", GbdtOptions.Names)}; linear options: {string.Join(", ", LinearOptions.Names)}.", key);
        }
        // Validate up front so a bad value fails before any work.
        if (spec.Trainer != TrainerKind.Linear) GbdtOptions.FromDictionary(g);
        if (spec.Trainer != TrainerKind.Gbdt) LinearOptions.FromDictionary(l);
        return (g, l);
    }

    private static TrainingResult TrainOne(TrainerKind kind, DataTable data, EncodedTarget y, TrainingSpec spec,
        IReadOnlyDictionary<string, object> gbdtValues, IReadOnlyDictionary<string, object> linearValues, string hash,
        IProgress<TrainingProgress>? progress, string stage, CancellationToken ct)
    {
        var exclude = spec.IgnoreColumns ?? [];
        int classCount = spec.Task == MlTask.Regression ? 1 : y.Classes.Length;
        if (kind == TrainerKind.Linear)
        {
            var o = LinearOptions.FromDictionary(linearValues);
            var fz = Featurizer.Fit(data, spec.Target, null, spec.Featurization, exclude);
            var bound = fz.Bind(data);
            var output = LinearTrainer.Train(fz, bound, y.Y, spec.Task, classCount, o, progress, stage, ct);
            var meta = Metadata(hash, data.RowCount, spec.Task == MlTask.Regression ? "ridge" : spec.Task == MlTask.Binary ? "logistic" : "multinomial_logistic",
                output.Iterations, o.ToDictionary(), spec.Seed);
            var model = new Model(spec.Task, spec.Target, y.Classes, TrainerKind.Linear, fz, output.Model, meta);
            return new TrainingResult(model, TrainerKind.Linear, output.Curve, "objective", output.Iterations, new Dictionary<string, double>(), null, TimeSpan.Zero);
        }
        else
        {
            var o = GbdtOptions.FromDictionary(gbdtValues);
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = o.Threads > 0 ? o.Threads : Environment.ProcessorCount, CancellationToken = ct };
            // Order category codes by mean target (binary, regression) so threshold splits on codes group similar categories.
            var fz = Featurizer.Fit(data, spec.Target, spec.Task == MlTask.Multiclass ? null : y.Y, spec.Featurization, exclude);
            DataTable trainPart = data, validPart = spec.Validation!;
            double[] yTrain = y.Y, yValid = [];
            if (spec.Validation is null && o.EarlyStoppingRounds > 0)
            {
                var rng = new Random(spec.Seed ^ 0x5eed);
                var perm = Enumerable.Range(0, data.RowCount).OrderBy(_ => rng.Next()).ToArray();
                int nValid = Math.Max(1, (int)(data.RowCount * o.ValidationFraction));
                var vRows = perm.Take(nValid).Order().ToArray();
                var tRows = perm.Skip(nValid).Order().ToArray();
                trainPart = data.SelectRows(tRows);
                validPart = data.SelectRows(vRows);
                yTrain = tRows.Select(i => y.Y[i]).ToArray();
                yValid = vRows.Select(i => y.Y[i]).ToArray();
            }
            else if (spec.Validation is not null)
            {
                yValid = EncodeValidation(spec, y, spec.Validation, out validPart);
            }
            var binned = BinnedDataset.Build(fz, fz.Bind(trainPart), o, spec.Seed, parallel);
            BinnedDataset? vBinned = validPart is null ? null : BinnedDataset.BuildWith(fz, fz.Bind(validPart), binned.Mappers, parallel);
            var objective = Objective.For(spec.Task, classCount, o.Objective, o.HuberDelta);
            var output = GbdtTrainer.Train(binned, yTrain, vBinned, vBinned is null ? null : yValid, objective, o, spec.Seed, progress, stage, ct);
            var meta = Metadata(hash, data.RowCount, objective.Name, output.BestRound, o.ToDictionary(), spec.Seed);
            var model = new Model(spec.Task, spec.Target, y.Classes, TrainerKind.Gbdt, fz, output.Ensemble, meta);
            return new TrainingResult(model, TrainerKind.Gbdt, output.Curve, output.CurveMetric, output.BestRound, new Dictionary<string, double>(), null, TimeSpan.Zero);
        }
    }

    private static double[] EncodeValidation(TrainingSpec spec, EncodedTarget y, DataTable validation, out DataTable kept)
    {
        var col = validation.Find(spec.Target) ?? throw new MlException("bad_target", $"The validation data has no target column '{spec.Target}'.");
        var rows = Enumerable.Range(0, validation.RowCount).Where(i => !col.IsMissing(i)).ToArray();
        kept = rows.Length == validation.RowCount ? validation : validation.SelectRows(rows);
        col = kept[spec.Target];
        if (spec.Task == MlTask.Regression) return Labels.AsNumbers(col);
        var index = y.Classes.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => (double)t.i, StringComparer.Ordinal);
        var labels = Labels.AsStrings(col);
        var result = new double[labels.Length];
        for (int i = 0; i < labels.Length; i++)
            result[i] = index.TryGetValue(labels[i]!, out var v) ? v : throw new MlException("bad_target", $"The validation data has class '{labels[i]}', which the training data lacks.");
        return result;
    }

    private static ModelMetadata Metadata(string hash, int rows, string objective, int best, Dictionary<string, object> options, int seed)
    {
        options["seed"] = seed;
        return new ModelMetadata(Model.CurrentFormatVersion, DateTimeOffset.UtcNow, hash, rows, objective, best, options,
            new Dictionary<string, double>(), new Dictionary<string, string>());
    }

    /// <summary>Seeded folds; classification folds are stratified (each class dealt round-robin after shuffling).</summary>
    private static List<(int[] Train, int[] Valid)> MakeFolds(EncodedTarget y, int k, int seed)
    {
        int n = y.Y.Length;
        var rng = new Random(seed);
        var perm = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
        var fold = new int[n];
        if (y.Classes.Length > 0)
        {
            var counters = new int[y.Classes.Length];
            int parts = k == 1 ? 5 : k;
            foreach (var i in perm) fold[i] = counters[(int)y.Y[i]]++ % parts;
        }
        else
        {
            int parts = k == 1 ? 5 : k;
            for (int j = 0; j < n; j++) fold[perm[j]] = j % parts;
        }
        var result = new List<(int[], int[])>();
        for (int f = 0; f < k; f++)
        {
            var valid = Enumerable.Range(0, n).Where(i => fold[i] == f).ToArray();
            var train = Enumerable.Range(0, n).Where(i => fold[i] != f).ToArray();
            result.Add((train, valid));
        }
        return result;
    }
}
