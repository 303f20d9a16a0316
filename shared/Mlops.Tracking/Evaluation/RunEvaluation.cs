using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Metrics;
using Mlops.ML.Models;

namespace Mlops.Tracking.Evaluation;

/// <summary>
/// <c>evaluation.json</c> of a run. Binary: ROC and PR points, calibration bins, a threshold table and the confusion
/// matrix at the model's threshold. Multiclass: confusion matrix and per-class scores. Regression: a sample of
/// (actual, predicted) pairs and the residuals summarized. Unused parts are null (left out of the JSON).
/// </summary>
public sealed record EvaluationDocument(string Task, int Rows)
{
    public string? PositiveClass { get; init; }
    public double? Threshold { get; init; }
    public double? Auc { get; init; }
    public double? PrAuc { get; init; }
    public IReadOnlyList<RocPoint>? Roc { get; init; }
    public IReadOnlyList<PrPoint>? Pr { get; init; }
    public IReadOnlyList<CalibrationBin>? Calibration { get; init; }
    public IReadOnlyList<ThresholdCounts>? Thresholds { get; init; }
    public ConfusionTable? Confusion { get; init; }
    public IReadOnlyList<ClassScores>? Classes { get; init; }

    /// <summary>Regression: (actual, predicted) of at most <see cref="RunEvaluation.MaxPairs"/> rows, evenly
    /// spaced.</summary>
    public IReadOnlyList<double[]>? Pairs { get; init; }
    public ResidualSummary? Residuals { get; init; }
    public IReadOnlyList<HistogramBin>? ResidualHistogram { get; init; }
}

/// <summary><c>importance.json</c>: normalized importance per input column (split gain for trees, |standardized weight|
/// for linear).</summary>
public sealed record ImportanceDocument(string Kind, IReadOnlyList<FeatureImportance> Features);

/// <summary>Computes a trial's evaluation curves and feature importance on its validation rows and stores them with the
/// run.</summary>
public static class RunEvaluation
{
    public const int MaxPairs = 1000;

    /// <summary>
    /// Writes <c>runs/{runId}/evaluation.json</c> and <c>importance.json</c>: one prediction pass over the validation
    /// rows and a sort of the scores. Called by the trial before its result, so a stored result implies both exist.
    /// </summary>
    public static async Task WriteAsync(
        IBlobStore blobs,
        string runId,
        Model model,
        DataTable validation,
        CancellationToken cancellationToken = default
    )
    {
        var evaluation = Compute(model, validation);
        await blobs
            .WriteAsync(
                RunArtifacts.Container,
                $"{runId}/{RunArtifacts.EvaluationBlob}",
                Json.SerializeToUtf8(evaluation),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        await blobs
            .WriteAsync(
                RunArtifacts.Container,
                $"{runId}/{RunArtifacts.ImportanceBlob}",
                Json.SerializeToUtf8(Importance(model)),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
    }

    /// <summary>The model's built-in importance.</summary>
    public static ImportanceDocument Importance(Model model) =>
        new(model.Trainer == TrainerKind.Linear ? "coefficient" : "gain", model.GainImportance());

    /// <summary>The evaluation document of <paramref name="model"/> on labelled rows (rows without a label are
    /// skipped).</summary>
    public static EvaluationDocument Compute(Model model, DataTable data)
    {
        var target = data.Find(model.Target)
            ?? throw new MlException("bad_target", $"The validation data has no target column '{model.Target}'.");
        var predictions = model.PredictBatch(data);
        if (model.Task == MlTask.Regression)
        {
            var y = Labels.AsNumbers(target);
            var rows = Enumerable.Range(0, data.RowCount).Where(i => !double.IsNaN(y[i])).ToArray();
            var actual = rows.Select(i => y[i]).ToArray();
            var predicted = rows.Select(i => predictions.Values[i]).ToArray();
            return Regression(actual, predicted);
        }
        var classIndex = model
            .Classes.Select((c, i) => (c, i))
            .ToDictionary(t => t.c, t => t.i, StringComparer.Ordinal);
        var labels = Labels.AsStrings(target);
        var known = Enumerable
            .Range(0, data.RowCount)
            .Where(i => labels[i] is { } l && classIndex.ContainsKey(l))
            .ToArray();
        var actualClass = known.Select(i => classIndex[labels[i]!]).ToArray();
        var predictedClass = known.Select(i => classIndex[predictions.Labels![i]!]).ToArray();
        var confusion = Confusion(model.Classes, actualClass, predictedClass);
        if (model.Task == MlTask.Multiclass)
            return new EvaluationDocument("multiclass", known.Length)
            {
                Confusion = confusion,
                Classes = EvaluationCurves.PerClass(confusion),
            };
        var scores = known.Select(i => predictions.Values[i]).ToArray();
        var positive = actualClass.Select(c => c == 1).ToArray();
        return Binary(scores, positive, model.Threshold, model.Classes[1]) with { Confusion = confusion };
    }

    /// <summary>The binary part of the document from positive-class scores and labels.</summary>
    public static EvaluationDocument Binary(double[] scores, bool[] positive, double threshold, string positiveClass)
    {
        var (roc, pr) = EvaluationCurves.RocAndPr(scores, positive);
        return new EvaluationDocument("binary", scores.Length)
        {
            PositiveClass = positiveClass,
            Threshold = threshold,
            Auc = Finite(MetricFunctions.RocAuc(scores, positive)),
            PrAuc = Finite(MetricFunctions.AveragePrecision(scores, positive)),
            Roc = roc,
            Pr = pr,
            Calibration = EvaluationCurves.Calibration(scores, positive),
            Thresholds = EvaluationCurves.Thresholds(scores, positive),
        };
    }

    /// <summary>The regression part: evenly spaced (actual, predicted) pairs and residual statistics.</summary>
    public static EvaluationDocument Regression(double[] actual, double[] predicted)
    {
        if (actual.Length == 0)
            return new EvaluationDocument("regression", 0);
        double stride = Math.Max(1.0, actual.Length / (double)MaxPairs);
        var pairs = new List<double[]>();
        for (double i = 0; i < actual.Length && pairs.Count < MaxPairs; i += stride)
            pairs.Add([actual[(int)i], predicted[(int)i]]);
        var (summary, histogram) = EvaluationCurves.Residuals(actual, predicted);
        return new EvaluationDocument("regression", actual.Length)
        {
            Pairs = pairs,
            Residuals = summary,
            ResidualHistogram = histogram,
        };
    }

    private static ConfusionTable Confusion(IReadOnlyList<string> classes, int[] actual, int[] predicted)
    {
        var counts = classes.Select(_ => new int[classes.Count]).ToArray();
        for (int r = 0; r < actual.Length; r++)
            counts[actual[r]][predicted[r]]++;
        return new ConfusionTable(classes, counts);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
