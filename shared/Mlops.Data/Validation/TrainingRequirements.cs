using System.Globalization;
using Mlops.Data.Profiling;
using Mlops.Data.Tabular;

namespace Mlops.Data.Validation;

/// <summary>The learning task a dataset's label is trained for (as in <c>mlops.json</c>'s <c>task</c>).</summary>
public enum LabelTask
{
    /// <summary>Exactly two classes.</summary>
    Binary,

    /// <summary>Two or more classes.</summary>
    Multiclass,

    /// <summary>A numeric target.</summary>
    Regression,
}

/// <summary>
/// What training will need from a version: the task and the held-out share of the train/test split. When given to
/// validation, a version training would trip on (too few rows for the split, one class, more classes than the task
/// allows, a non-numeric regression target) is quarantined with a report instead of failing in training after retries.
/// </summary>
/// <param name="Task">The label's task.</param>
/// <param name="TestFraction">Share of rows held out (0..1, exclusive), as in <c>mlops.json</c>'s
/// <c>testFraction</c>.</param>
public sealed record TrainingRequirements(LabelTask Task, double TestFraction = 0.2)
{
    /// <summary>Parses <c>binary</c>, <c>multiclass</c> or <c>regression</c> (case-insensitive); null for anything
    /// else.</summary>
    public static LabelTask? ParseTask(string? task) =>
        task?.Trim().ToLowerInvariant() switch
        {
            "binary" => LabelTask.Binary,
            "multiclass" => LabelTask.Multiclass,
            "regression" => LabelTask.Regression,
            _ => null,
        };

    /// <summary>
    /// Fewest rows (per class for classification, whose split is stratified) that leave at least one row on each side
    /// of the split: the test side gets round(n × fraction) rows, the training side the rest.
    /// </summary>
    public int MinRowsForSplit
    {
        get
        {
            for (int n = 2; n < 10_000; n++)
            {
                int test = (int)Math.Round(n * TestFraction);
                if (test >= 1 && n - test >= 1)
                    return n;
            }
            return int.MaxValue;
        }
    }
}

/// <summary>The checks behind <see cref="TrainingRequirements"/>; called by <see
/// cref="DataValidator.Validate"/>.</summary>
internal static class TrainabilityCheck
{
    private static readonly IFormatProvider Inv = CultureInfo.InvariantCulture;

    public static void Check(DataTable current, string label, TrainingRequirements training, List<Anomaly> found)
    {
        var col = current.Find(label);
        if (col is null)
            return; // reported as label_missing
        int minRows = training.MinRowsForSplit;
        if (training.Task == LabelTask.Regression)
        {
            if (!ColumnData.IsNumeric(col))
            {
                var examples = ColumnData.Counts(col).Keys.Take(3).Select(v => $"'{v}'");
                found.Add(
                    new(
                        AnomalyCodes.LabelNotNumeric,
                        Severity.Error,
                        $"The label '{label}' holds text (e.g. {string.Join(", ", examples)}), but task 'regression' needs numbers.",
                        label
                    )
                );
                return;
            }
            long rows = ColumnData.NonMissing(col);
            if (rows < minRows)
                found.Add(TooFewRows(label, rows, minRows, training, "labelled rows"));
            return;
        }

        var classes = ColumnData.Counts(col);
        if (classes.Count < 2)
        {
            found.Add(
                new(
                    AnomalyCodes.SingleClass,
                    Severity.Error,
                    classes.Count == 0
                        ? $"The label '{label}' has no values, so a {Name(training.Task)} model cannot be trained."
                        : $"The label '{label}' has a single class ('{classes.Keys.First()}'); a {Name(training.Task)} model needs at least two.",
                    label,
                    classes.Count,
                    2
                )
            );
            return;
        }
        if (training.Task == LabelTask.Binary && classes.Count > 2)
        {
            found.Add(
                new(
                    AnomalyCodes.TooManyClasses,
                    Severity.Error,
                    $"The label '{label}' has {classes.Count} classes ({string.Join(", ", classes.Keys.Order(StringComparer.Ordinal).Take(5).Select(c => $"'{c}'"))}{(classes.Count > 5 ? ", …" : "")}), but task 'binary' allows two; use task 'multiclass' or fix the labels.",
                    label,
                    classes.Count,
                    2
                )
            );
            return;
        }
        long largest = classes.Values.Max();
        if (largest < minRows)
            found.Add(TooFewRows(label, largest, minRows, training, "rows in the largest class"));
    }

    private static Anomaly TooFewRows(
        string label,
        long rows,
        int minRows,
        TrainingRequirements training,
        string what
    ) =>
        new(
            AnomalyCodes.TooFewRows,
            Severity.Error,
            string.Format(
                Inv,
                "Too few rows to train: {0:N0} {1} of '{2}', but a train/test split with testFraction {3} needs at least {4}.",
                rows,
                what,
                label,
                training.TestFraction,
                minRows
            ),
            label,
            rows,
            minRows
        );

    private static string Name(LabelTask task) => task.ToString().ToLowerInvariant();
}
