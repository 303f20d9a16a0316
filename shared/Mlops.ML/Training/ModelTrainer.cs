using System.Diagnostics;
using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Gbdt;
using Mlops.ML.Linear;
using Mlops.ML.Metrics;
using Mlops.ML.MlNet;
using Mlops.ML.Models;

namespace Mlops.ML.Training;

/// <summary>
/// The one entry point for training: validates the spec, encodes the target, fits the featurizer, runs the chosen
/// trainer (or, for <see cref="TrainerKind.Auto"/>, compares GBDT and linear models by 5-fold cross-validation — one
/// 80/20 split above 20,000 rows — preferring the linear model unless GBDT wins by more than one standard error, then
/// retrains the winner on everything) and packages an immutable <see cref="Model"/> with its metadata.
/// </summary>
public static class ModelTrainer
{
    /// <summary>Below this many rows Auto compares candidates by 5-fold cross-validation instead of one 80/20
    /// split.</summary>
    public const int CrossValidationMaxRows = 20_000;

    /// <exception cref="MlException">Bad target (missing column, wrong class count, non-numeric regression target) or
    /// no usable features.</exception>
    /// <exception cref="ArgumentException">An unknown or invalid hyperparameter (the message names it).</exception>
    public static TrainingResult Train(
        DataTable data,
        TrainingSpec spec,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(spec);
        var sw = Stopwatch.StartNew();
        var values = SplitOptions(spec);
        var target = data.Find(spec.Target)
            ?? throw new MlException(
                "bad_target",
                $"Target column '{spec.Target}' is not in the data. Columns: {string.Join(", ", data.ColumnNames)}."
            );
        // Rows without a target cannot teach anything.
        var labelled = Enumerable.Range(0, data.RowCount).Where(i => !target.IsMissing(i)).ToArray();
        if (labelled.Length < 2)
            throw new MlException(
                "bad_target",
                $"Target column '{spec.Target}' has fewer than two non-missing values."
            );
        if (labelled.Length < data.RowCount)
            data = data.SelectRows(labelled);
        var encoded = EncodeTarget(data, spec);
        string hash = DataHash.Compute(data);

        if (spec.Threshold != ThresholdRule.Default && spec.Task != MlTask.Binary)
            throw new ArgumentException("threshold applies to binary classification only.", "threshold");
        if (spec.Trainer != TrainerKind.Auto)
        {
            var one = TrainOne(
                spec.Trainer,
                data,
                encoded,
                spec,
                values,
                hash,
                progress,
                spec.Trainer.ToName(),
                cancellationToken
            );
            one = ApplyThreshold(one, spec, () =>
                OutOfFold(spec.Trainer, data, encoded, spec, values, hash, progress, cancellationToken)
            );
            return one with { Elapsed = sw.Elapsed };
        }

        var (metricName, higher) = SelectionMetric(spec.Task);
        var scores = new Dictionary<string, double>();
        var perFold = new Dictionary<TrainerKind, List<double>>();
        var outOfFold = new Dictionary<TrainerKind, OutOfFoldPredictions>();
        var folds = MakeFolds(encoded, data.RowCount <= CrossValidationMaxRows ? 5 : 1, spec.Seed);
        foreach (var kind in AutoCandidates(spec.Task))
        {
            perFold[kind] = [];
            outOfFold[kind] = new OutOfFoldPredictions([], []);
            foreach (var (trainRows, validRows) in folds)
            {
                var trainPart = data.SelectRows(trainRows);
                var validPart = data.SelectRows(validRows);
                var r = TrainOne(
                    kind,
                    trainPart,
                    EncodeTarget(trainPart, spec),
                    spec with
                    {
                        Validation = null,
                        ContinueAfterRound = null,
                    },
                    values,
                    hash,
                    progress,
                    "auto:" + kind.ToName(),
                    cancellationToken
                );
                var report = Evaluator.Evaluate(r.Model, validPart);
                perFold[kind].Add(report.Metrics[metricName]);
                if (spec.Task == MlTask.Binary)
                    outOfFold[kind].Add(r.Model, validPart, validRows.Select(i => encoded.Y[i] > 0.5));
            }
            scores[kind.ToName()] = perFold[kind].Average();
        }
        // The best tree model must still beat the simplest candidate by more than one standard error.
        var bestTrees = perFold
            .Keys.Where(k => k != TrainerKind.Linear)
            .OrderBy(k => higher ? -scores[k.ToName()] : scores[k.ToName()])
            .ThenBy(k => k)
            .First();
        var winner = ChooseWithOneStandardError(perFold[bestTrees], perFold[TrainerKind.Linear], higher)
            ? bestTrees
            : TrainerKind.Linear;
        var final = TrainOne(winner, data, encoded, spec, values, hash, progress, winner.ToName(), cancellationToken);
        final = ApplyThreshold(final, spec, () => outOfFold[winner]);
        var tags = new Dictionary<string, string> { ["auto.selection_metric"] = metricName };
        foreach (var (k, v) in scores)
            tags["auto." + k] = v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return final with
        {
            Model = final.Model.WithTags(tags),
            CandidateScores = scores,
            SelectionMetric = metricName,
            Elapsed = sw.Elapsed,
        };
    }

    /// <summary>Positive-class probabilities of rows a model did not train on, with their true classes.</summary>
    private sealed record OutOfFoldPredictions(List<double> Probability, List<bool> Positive)
    {
        public void Add(Model model, DataTable validPart, IEnumerable<bool> positive)
        {
            Probability.AddRange(model.PredictBatch(validPart).Values);
            Positive.AddRange(positive);
        }
    }

    /// <summary>Out-of-fold predictions of one trainer: 5 folds on small data, one 80/20 holdout above <see
    /// cref="CrossValidationMaxRows"/>.</summary>
    private static OutOfFoldPredictions OutOfFold(
        TrainerKind kind,
        DataTable data,
        EncodedTarget encoded,
        TrainingSpec spec,
        TrainerValues values,
        string hash,
        IProgress<TrainingProgress>? progress,
        CancellationToken ct
    )
    {
        var result = new OutOfFoldPredictions([], []);
        foreach (
            var (trainRows, validRows) in MakeFolds(encoded, data.RowCount <= CrossValidationMaxRows ? 5 : 1, spec.Seed)
        )
        {
            var trainPart = data.SelectRows(trainRows);
            var r = TrainOne(
                kind,
                trainPart,
                EncodeTarget(trainPart, spec),
                spec with
                {
                    Validation = null,
                    ContinueAfterRound = null,
                },
                values,
                hash,
                progress,
                "threshold:" + kind.ToName(),
                ct
            );
            result.Add(r.Model, data.SelectRows(validRows), validRows.Select(i => encoded.Y[i] > 0.5));
        }
        return result;
    }

    /// <summary>
    /// Sets the binary decision threshold: the fixed value, or (auto) the one maximizing the rule's metric on
    /// out-of-fold predictions, recorded in tags next to the same metric at 0.5 (<c>threshold</c>,
    /// <c>threshold.metric</c>,
    /// <c>threshold.validation</c>, <c>threshold.validation_at_0.5</c>).
    /// </summary>
    private static TrainingResult ApplyThreshold(
        TrainingResult result,
        TrainingSpec spec,
        Func<OutOfFoldPredictions> outOfFold
    )
    {
        var rule = spec.Threshold;
        if (spec.Task != MlTask.Binary || rule == ThresholdRule.Default)
            return result;
        if (!rule.Auto)
            return result with { Model = result.Model.WithThreshold(rule.Value) };
        var predictions = outOfFold();
        var (threshold, value) = ThresholdRule.Choose(predictions.Probability, predictions.Positive, rule.Metric);
        double atHalf = ThresholdRule.MetricAt(predictions.Probability, predictions.Positive, rule.Metric, 0.5);
        static string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var tags = new Dictionary<string, string>
        {
            ["threshold"] = F(threshold),
            ["threshold.metric"] = rule.Metric,
            ["threshold.validation"] = F(value),
            ["threshold.validation_at_0.5"] = F(atHalf),
        };
        return result with { Model = result.Model.WithThreshold(threshold).WithTags(tags) };
    }

    /// <summary>
    /// True when the tree model beats the linear model by more than one standard error of the paired per-fold
    /// differences (Breiman's one-standard-error rule: on small data a difference inside the noise should not buy the
    /// more complex model). With a single holdout split there is no error estimate and the better score wins.
    /// </summary>
    private static bool ChooseWithOneStandardError(List<double> gbdt, List<double> linear, bool higherIsBetter)
    {
        int k = gbdt.Count;
        var gain = Enumerable
            .Range(0, k)
            .Select(i => higherIsBetter ? gbdt[i] - linear[i] : linear[i] - gbdt[i])
            .ToArray();
        double mean = gain.Average();
        if (k < 2)
            return mean > 0;
        double sd = Math.Sqrt(gain.Sum(g => (g - mean) * (g - mean)) / (k - 1));
        return mean > sd / Math.Sqrt(k);
    }

    /// <summary>Auto's candidates, each a tracked trial: GBDT, the linear model, and (binary, regression) the random
    /// forest.</summary>
    public static IReadOnlyList<TrainerKind> AutoCandidates(MlTask task) =>
        task == MlTask.Multiclass
            ? [TrainerKind.Gbdt, TrainerKind.Linear]
            : [TrainerKind.Gbdt, TrainerKind.Linear, TrainerKind.Forest];

    /// <summary>Metric Auto compares candidates with: auc for binary, logloss for multiclass (smoother than accuracy on
    /// small data), rmse for regression.</summary>
    public static (string Name, bool HigherIsBetter) SelectionMetric(MlTask task) =>
        task switch
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
        if (spec.Task == MlTask.Regression)
            return new EncodedTarget(Labels.AsNumbers(col), []);
        var labels = Labels.AsStrings(col);
        var classes = CheckClasses(spec, Labels.SortClasses(labels.Select(s => s!)));
        var index = classes.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => (double)t.i, StringComparer.Ordinal);
        return new EncodedTarget(labels.Select(s => index[s!]).ToArray(), classes);
    }

    /// <summary>The sorted classes of a classification target, checked against the task (also used by the out-of-core
    /// trainer).</summary>
    internal static string[] CheckClasses(TrainingSpec spec, string[] classes)
    {
        if (spec.Task == MlTask.Binary && classes.Length != 2)
            throw new MlException(
                "bad_target",
                $"Binary classification needs exactly 2 classes in '{spec.Target}', found {classes.Length}"
                    + (classes.Length <= 10 ? $": {string.Join(", ", classes)}." : ".")
            );
        if (spec.Task == MlTask.Multiclass && classes.Length < 2)
            throw new MlException(
                "bad_target",
                $"Multiclass classification needs at least 2 classes in '{spec.Target}'."
            );
        if (classes.Length > 1000)
            throw new MlException(
                "bad_target",
                $"'{spec.Target}' has {classes.Length} distinct values; is this a regression target?"
            );
        return classes;
    }

    /// <summary>
    /// Trains a GBDT from a CSV file without loading it (<see cref="OutOfCore.OutOfCoreTrainer"/>): two streaming
    /// passes, only one byte per row and feature kept. For files that do not fit in memory as a table.
    /// </summary>
    public static TrainingResult TrainFile(
        string path,
        TrainingSpec spec,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default
    ) => OutOfCore.OutOfCoreTrainer.TrainFile(path, spec, null, progress, cancellationToken).Result;

    /// <summary>Hyperparameters per trainer, after routing the spec's keys (prefixed or shared) to the trainers that
    /// know them.</summary>
    internal sealed record TrainerValues(
        IReadOnlyDictionary<string, object> Gbdt,
        IReadOnlyDictionary<string, object> Linear,
        IReadOnlyDictionary<string, object> Forest
    );

    private static readonly (string Prefix, TrainerKind Kind, IReadOnlyList<string> Names)[] OptionOwners =
    [
        ("gbdt.", TrainerKind.Gbdt, GbdtOptions.Names),
        ("linear.", TrainerKind.Linear, LinearOptions.Names),
        ("forest.", TrainerKind.Forest, ForestOptions.Names),
    ];

    /// <summary>
    /// Checks hyperparameters the way training will read them, without training: every name must belong to a trainer
    /// the spec can use (plain or <c>gbdt.</c>/<c>linear.</c>/<c>forest.</c>-prefixed), every value must parse and be
    /// in range. Lets a configuration be refused when it is loaded instead of after a run's retries.
    /// </summary>
    /// <exception cref="ArgumentException">Naming the option and what is wrong (unknown name, wrong type, out of
    /// range).</exception>
    public static void ValidateOptions(TrainerKind trainer, IReadOnlyDictionary<string, object> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            SplitOptions(new TrainingSpec("target", MlTask.Binary) { Trainer = trainer, Options = options });
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    private static TrainerValues SplitOptions(TrainingSpec spec)
    {
        var byKind = OptionOwners.ToDictionary(o => o.Kind, _ => new Dictionary<string, object>());
        bool Uses(TrainerKind kind) => spec.Trainer == kind || spec.Trainer == TrainerKind.Auto;
        foreach (var (key, value) in spec.Options ?? new Dictionary<string, object>())
        {
            var prefixed = OptionOwners.FirstOrDefault(o => key.StartsWith(o.Prefix, StringComparison.Ordinal));
            if (prefixed.Prefix is not null)
            {
                byKind[prefixed.Kind][key[prefixed.Prefix.Length..]] = value;
                continue;
            }
            bool known = false;
            foreach (var owner in OptionOwners)
                if (Uses(owner.Kind) && owner.Names.Contains(key))
                {
                    byKind[owner.Kind][key] = value;
                    known = true;
                }
            if (!known)
                throw new ArgumentException(
                    $"Unknown option '{key}' for trainer {spec.Trainer.ToName()}. "
                        + string.Join(
                            "; ",
                            OptionOwners.Select(o => $"{o.Kind.ToName()} options: {string.Join(", ", o.Names)}")
                        )
                        + ".",
                    key
                );
        }
        // Validate up front so a bad value fails before any work.
        if (Uses(TrainerKind.Gbdt))
            GbdtOptions.FromDictionary(byKind[TrainerKind.Gbdt]);
        if (Uses(TrainerKind.Linear))
            LinearOptions.FromDictionary(byKind[TrainerKind.Linear]);
        if (Uses(TrainerKind.Forest))
            ForestOptions.FromDictionary(byKind[TrainerKind.Forest]);
        return new TrainerValues(byKind[TrainerKind.Gbdt], byKind[TrainerKind.Linear], byKind[TrainerKind.Forest]);
    }

    private static TrainingResult TrainOne(
        TrainerKind kind,
        DataTable data,
        EncodedTarget y,
        TrainingSpec spec,
        TrainerValues values,
        string hash,
        IProgress<TrainingProgress>? progress,
        string stage,
        CancellationToken ct
    )
    {
        var exclude = spec.IgnoreColumns ?? [];
        int classCount = spec.Task == MlTask.Regression ? 1 : y.Classes.Length;
        if (kind == TrainerKind.Linear)
        {
            var o = LinearOptions.FromDictionary(values.Linear);
            var fz = Featurizer.Fit(data, spec.Target, null, spec.Featurization, exclude);
            var bound = fz.Bind(data);
            var output = LinearTrainer.Train(fz, bound, y.Y, spec.Task, classCount, o, progress, stage, ct);
            var meta = Metadata(
                hash,
                data.RowCount,
                spec.Task == MlTask.Regression ? "ridge"
                    : spec.Task == MlTask.Binary ? "logistic"
                    : "multinomial_logistic",
                output.Iterations,
                o.ToDictionary(),
                spec.Seed
            );
            var model = new Model(spec.Task, spec.Target, y.Classes, TrainerKind.Linear, fz, output.Model, meta);
            return new TrainingResult(
                model,
                TrainerKind.Linear,
                output.Curve,
                "objective",
                output.Iterations,
                new Dictionary<string, double>(),
                null,
                TimeSpan.Zero
            );
        }
        return kind == TrainerKind.Forest
            ? TreeModelTraining.TrainForest(data, y, spec, values.Forest, hash, progress, stage, ct)
            : TreeModelTraining.TrainGbdt(data, y, spec, values.Gbdt, hash, progress, stage, ct);
    }

    internal static ModelMetadata Metadata(
        string hash,
        int rows,
        string objective,
        int best,
        Dictionary<string, object> options,
        int seed
    )
    {
        options["seed"] = seed;
        return new ModelMetadata(
            Model.CurrentFormatVersion,
            DateTimeOffset.UtcNow,
            hash,
            rows,
            objective,
            best,
            options,
            new Dictionary<string, double>(),
            new Dictionary<string, string>()
        );
    }

    /// <summary>Seeded folds; classification folds are stratified (each class dealt round-robin after
    /// shuffling).</summary>
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
            foreach (var i in perm)
                fold[i] = counters[(int)y.Y[i]]++ % parts;
        }
        else
        {
            int parts = k == 1 ? 5 : k;
            for (int j = 0; j < n; j++)
                fold[perm[j]] = j % parts;
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
