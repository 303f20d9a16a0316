using System.Globalization;
using Mlops.Core;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Models;

namespace Mlops.Monitoring.Reference;

/// <summary>
/// Everything a monitor run needs from training time, computed once when a model version is registered and stored next
/// to it (<c>models/{model}/v{N}/reference.json</c>, about 25 KB per numeric feature): per-feature summaries, the
/// distribution of the model's outputs, a score calibration for confidence-based performance estimation (CBPE) and the
/// reference metrics. A monitor run reads this and the window's prediction log, never the training data.
/// </summary>
public sealed record ReferenceProfile
{
    /// <summary>Format version of this document.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Quantiles kept per numeric column (0.1% steps).</summary>
    public const int MaxSampleSize = 1001;

    /// <summary>Categories kept per categorical column.</summary>
    public const int MaxCategories = 1000;

    /// <summary>References of at most this many rows keep every value (Evidently's small-sample size: exact p-value
    /// tests).</summary>
    public const int ExactUpTo = 1000;

    /// <summary>Blob name of a version's reference profile inside the models container.</summary>
    public static string BlobName(string model, int version) => $"{model}/v{version}/reference.json";

    /// <summary>Document format.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary><c>binary</c>, <c>multiclass</c> or <c>regression</c>.</summary>
    public required string Task { get; init; }

    /// <summary>Target column of the model.</summary>
    public required string Target { get; init; }

    /// <summary>Class labels in probability order (binary: [negative, positive]).</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];

    /// <summary>Decision threshold of a binary model.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Rows the profile was computed from.</summary>
    public long Rows { get; init; }

    /// <summary>When it was computed.</summary>
    public DateTimeOffset CreatedUtc { get; init; }

    /// <summary>One summary per model input column, in model order.</summary>
    public required IReadOnlyList<FeatureReference> Features { get; init; }

    /// <summary>Binary: positive-class probability; multiclass: winning probability; regression: the value.</summary>
    public required FeatureReference Score { get; init; }

    /// <summary>Counts of predicted classes (classification).</summary>
    public FeatureReference? PredictedLabels { get; init; }

    /// <summary>Binary: score → P(positive); multiclass: winning probability → P(correct). Null for
    /// regression.</summary>
    public ScoreCalibration? Calibration { get; init; }

    /// <summary>
    /// Global importance at registration: mean |SHAP| per input column over the held-out rows (exact explanations, see
    /// <see cref="ModelExplainer"/>). Null for models that cannot be explained and profiles written before it existed;
    /// attribution drift compares a window's sample with it.
    /// </summary>
    public AttributionSummary? Attribution { get; init; }

    /// <summary>Metrics recorded with the model (evaluation on held-out data): the baseline of a performance
    /// drop.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// Builds the profile of <paramref name="model"/> on its training table (the register step's one call). The
    /// calibration is fitted on <paramref name="calibration"/> when given (held-out rows: better calibrated), else on
    /// <paramref name="train"/>. Cost: one prediction pass and one sort per numeric column.
    /// </summary>
    /// <exception cref="MonitoringException"><c>monitoring.reference</c> when the table lacks model input columns or
    /// rows.</exception>
    /// <param name="train">Training rows (the distributions).</param>
    /// <param name="model">The registered model.</param>
    /// <param name="calibration">Held-out rows: calibration and global importance (else the training rows).</param>
    /// <param name="now">Creation time.</param>
    /// <param name="attributionRows">Rows explained for <see cref="Attribution"/> (0: none, e.g. a dataset baseline
    /// that only lends distributions).</param>
    public static ReferenceProfile Build(
        DataTable train,
        Model model,
        DataTable? calibration = null,
        DateTimeOffset? now = null,
        int attributionRows = 1000
    )
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(model);
        if (train.RowCount == 0)
            throw new MonitoringException("monitoring.reference", "The reference table has no rows.");
        var features = new List<FeatureReference>();
        foreach (var input in model.InputSchema)
        {
            var column = train.Find(input.Name)
                ?? throw new MonitoringException(
                    "monitoring.reference",
                    $"The reference table has no column '{input.Name}' that the model uses."
                );
            features.Add(Summarize(column));
        }
        var predictions = model.PredictBatch(train);
        var sortedScores = predictions.Values.Where(v => !double.IsNaN(v)).ToArray();
        Array.Sort(sortedScores);
        FeatureReference? labels = null;
        if (model.Task != MlTask.Regression)
        {
            var counts = predictions
                .Labels!.Where(l => l is not null)
                .GroupBy(l => l!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
            labels = FeatureSummaries.Categorical(
                "predictedLabel",
                ReferenceKind.Categorical,
                counts,
                predictions.RowCount
            );
        }
        return new ReferenceProfile
        {
            Task = model.Task.ToName(),
            Target = model.Target,
            Classes = model.Classes,
            Threshold = model.Threshold,
            Rows = train.RowCount,
            CreatedUtc = now ?? DateTimeOffset.UtcNow,
            Features = features,
            Score = FeatureSummaries.Numeric("score", sortedScores, predictions.RowCount, ExactUpTo),
            PredictedLabels = labels,
            Calibration = model.Task == MlTask.Regression ? null : FitCalibration(model, calibration ?? train),
            Metrics = new Dictionary<string, double>(model.Metadata.Metrics),
            Attribution =
                attributionRows > 0
                && ModelExplainer.CanExplain(model)
                && (calibration ?? train) is { RowCount: > 0 } rows
                    ? AttributionSummary.Compute(model, rows, attributionRows)
                    : null,
        };
    }

    /// <summary>Serialized form (indented JSON in the project's conventions).</summary>
    public byte[] ToJson() => Json.SerializeToUtf8(this, indented: true);

    /// <summary>Reads a stored profile.</summary>
    /// <exception cref="MonitoringException"><c>monitoring.reference</c> when the document is not a profile of a known
    /// format.</exception>
    public static ReferenceProfile FromJson(ReadOnlySpan<byte> json)
    {
        ReferenceProfile? p;
        try
        {
            p = Json.Deserialize<ReferenceProfile>(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new MonitoringException(
                "monitoring.reference",
                $"The reference profile is not valid JSON: {e.Message}"
            );
        }
        if (p is null || p.FormatVersion is < 1 or > CurrentFormatVersion)
            throw new MonitoringException(
                "monitoring.reference",
                $"Unsupported reference profile format {p?.FormatVersion}."
            );
        return p;
    }

    /// <summary>Summary of one table column by its kind.</summary>
    public static FeatureReference Summarize(Column column)
    {
        if (column.IsNumericLike && column.Numbers is not null)
        {
            var values = column.Numbers.Where(v => !double.IsNaN(v)).ToArray();
            Array.Sort(values);
            return FeatureSummaries.Numeric(column.Name, values, column.Length, ExactUpTo);
        }
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var s in column.Strings!)
            if (s is not null)
                counts[s] = counts.GetValueOrDefault(s) + 1;
        var kind = column.Kind == ColumnKind.Text ? ReferenceKind.Text : ReferenceKind.Categorical;
        return FeatureSummaries.Categorical(column.Name, kind, counts, column.Length);
    }

    private static ScoreCalibration? FitCalibration(Model model, DataTable data)
    {
        var target = data.Find(model.Target);
        if (target is null)
            return null;
        var truth = Labels.AsStrings(target);
        var preds = model.PredictBatch(data);
        var scores = new List<double>(data.RowCount);
        var outcomes = new List<bool>(data.RowCount);
        string positive = model.Classes[^1];
        for (int i = 0; i < data.RowCount; i++)
        {
            if (truth[i] is null)
                continue;
            scores.Add(preds.Values[i]);
            // Binary: the score is P(positive); multiclass: the winning probability, calibrated against being right.
            outcomes.Add(model.Task == MlTask.Binary ? truth[i] == positive : truth[i] == preds.Labels![i]);
        }
        return ScoreCalibration.Fit(scores.ToArray(), outcomes.ToArray());
    }

    /// <summary>Positive class of a binary model.</summary>
    public string PositiveClass => Classes.Count > 0 ? Classes[^1] : "";

    /// <summary>Parsed <see cref="Task"/>.</summary>
    public MlTask ParsedTask => MlTaskNames.ParseTask(Task);

    internal static string Invariant(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
