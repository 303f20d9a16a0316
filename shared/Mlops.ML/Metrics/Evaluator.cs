using System.Globalization;
using Mlops.Data.Tabular;
using Mlops.ML.Models;

namespace Mlops.ML.Metrics;

/// <summary>Scores a model on labelled data: task metrics, confusion matrix, and optionally the same metrics per slice
/// of a column.</summary>
public static class Evaluator
{
    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="test"/>, which must contain the model's target column.
    /// Rows with a missing target are skipped. With <paramref name="sliceColumn"/>, metrics are also computed for each
    /// value of that column (numeric columns by value; at most 50 most frequent slices).
    /// </summary>
    public static EvaluationReport Evaluate(Model model, DataTable test, string? sliceColumn = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        var targetCol = test.Find(model.Target)
            ?? throw new MlException("bad_target", $"The evaluation data has no target column '{model.Target}'.");
        Column? slice = null;
        if (sliceColumn is not null)
            slice = test.Find(sliceColumn)
                ?? throw new MlException("bad_data", $"Slice column '{sliceColumn}' is not in the evaluation data.");
        var rows = new List<int>();
        var labelStrings = model.Task == MlTask.Regression ? null : Labels.AsStrings(targetCol);
        var yNum = model.Task == MlTask.Regression ? Labels.AsNumbers(targetCol) : null;
        for (int i = 0; i < test.RowCount; i++)
            if (labelStrings is not null ? labelStrings[i] is not null : !double.IsNaN(yNum![i]))
                rows.Add(i);
        if (rows.Count == 0)
            throw new MlException("bad_data", "The evaluation data has no rows with a target value.");
        var data = rows.Count == test.RowCount ? test : test.SelectRows(rows);
        var preds = model.PredictBatch(data);
        var all = Enumerable.Range(0, data.RowCount).ToArray();
        var metrics = Compute(model, data, preds, all, out var confusion);
        var slices = new List<SliceReport>();
        if (slice is not null)
        {
            var sliceCol = data[slice.Name];
            var keys =
                sliceCol.Strings is not null && !sliceCol.IsNumericLike
                    ? sliceCol.Strings
                    : sliceCol
                        .Numbers!.Select(v => double.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture))
                        .ToArray();
            foreach (
                var g in all.GroupBy(i => keys[i] ?? "\0missing")
                    .OrderByDescending(g => g.Count())
                    .ThenBy(g => g.Key, StringComparer.Ordinal)
                    .Take(50)
            )
            {
                var idx = g.ToArray();
                slices.Add(
                    new SliceReport(
                        slice.Name,
                        g.Key == "\0missing" ? null : g.Key,
                        idx.Length,
                        Compute(model, data, preds, idx, out _)
                    )
                );
            }
        }
        var (primary, higher) = EvaluationReport.PrimaryFor(model.Task);
        return new EvaluationReport(
            model.Task,
            data.RowCount,
            metrics,
            primary,
            higher,
            confusion,
            model.Task == MlTask.Binary ? model.Threshold : null,
            slices,
            preds.Issues
        );
    }

    /// <summary>Metrics of predictions <paramref name="preds"/> for the rows <paramref name="idx"/> of <paramref
    /// name="data"/>.</summary>
    internal static Dictionary<string, double> Compute(
        Model model,
        DataTable data,
        PredictionBatch preds,
        int[] idx,
        out ConfusionMatrix? confusion
    )
    {
        var target = data[model.Target];
        var m = new Dictionary<string, double>();
        confusion = null;
        if (model.Task == MlTask.Regression)
        {
            var y = Labels.AsNumbers(target);
            var yt = idx.Select(i => y[i]).ToArray();
            var yp = idx.Select(i => preds.Values[i]).ToArray();
            m["rmse"] = MetricFunctions.Rmse(yt, yp);
            m["mae"] = MetricFunctions.Mae(yt, yp);
            m["r2"] = MetricFunctions.R2(yt, yp);
            m["mape"] = MetricFunctions.Mape(yt, yp);
            return m;
        }
        var classes = model.Classes;
        int c = classes.Count;
        var classIndex = classes.Select((s, i) => (s, i)).ToDictionary(t => t.s, t => t.i, StringComparer.Ordinal);
        var labels = Labels.AsStrings(target);
        var actual = idx.Select(i => classIndex.TryGetValue(labels[i]!, out var k) ? k : -1).ToArray();
        var predicted = idx.Select(i => classIndex[preds.Labels![i]!]).ToArray();
        var probs = new double[idx.Length * c];
        for (int r = 0; r < idx.Length; r++)
        for (int k = 0; k < c; k++)
            probs[r * c + k] = preds.Probability(idx[r], k);
        var counts = new int[c][];
        for (int k = 0; k < c; k++)
            counts[k] = new int[c];
        int correct = 0;
        for (int r = 0; r < idx.Length; r++)
        {
            if (actual[r] == predicted[r])
                correct++;
            if (actual[r] >= 0)
                counts[actual[r]][predicted[r]]++;
        }
        confusion = new ConfusionMatrix(classes, counts);
        m["accuracy"] = (double)correct / idx.Length;
        m["logloss"] = MetricFunctions.LogLoss(probs, c, actual);
        if (model.Task == MlTask.Binary)
        {
            double tp = counts[1][1],
                fp = counts[0][1],
                fn = counts[1][0];
            double precision = tp + fp == 0 ? 0 : tp / (tp + fp);
            double recall = tp + fn == 0 ? 0 : tp / (tp + fn);
            m["precision"] = precision;
            m["recall"] = recall;
            m["f1"] = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            var scores = idx.Select(i => preds.Values[i]).ToArray();
            var positive = actual.Select(a => a == 1).ToArray();
            m["auc"] = MetricFunctions.RocAuc(scores, positive);
            m["pr_auc"] = MetricFunctions.AveragePrecision(scores, positive);
        }
        else
        {
            double f1Sum = 0;
            for (int k = 0; k < c; k++)
            {
                double tp = counts[k][k],
                    fp = 0,
                    fn = 0;
                for (int j = 0; j < c; j++)
                    if (j != k)
                    {
                        fp += counts[j][k];
                        fn += counts[k][j];
                    }
                double p = tp + fp == 0 ? 0 : tp / (tp + fp),
                    r = tp + fn == 0 ? 0 : tp / (tp + fn);
                f1Sum += p + r == 0 ? 0 : 2 * p * r / (p + r);
            }
            m["macro_f1"] = f1Sum / c;
            // Single-label multiclass: micro precision = micro recall = accuracy over rows with a known class.
            int known = actual.Count(a => a >= 0);
            m["micro_f1"] =
                known == 0 ? 0 : (double)actual.Where((a, r) => a >= 0 && a == predicted[r]).Count() / known;
        }
        return m;
    }
}
