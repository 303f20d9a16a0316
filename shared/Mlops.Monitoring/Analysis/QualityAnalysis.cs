using Mlops.Core.Statistics;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Analysis;

/// <summary>Data quality of one served input column over the window.</summary>
/// <param name="Column">Column name.</param>
/// <param name="MissingRate">Rows where it was absent or null.</param>
/// <param name="ReferenceMissingRate">The same share at training time.</param>
/// <param name="TypeErrorRate">Values of the wrong type.</param>
/// <param name="OutOfRangeRate">Numbers outside the training range [min, max].</param>
/// <param name="UnseenCategoryRate">Categories the training data did not have (null when the reference's list was
/// truncated).</param>
/// <param name="UnseenExamples">Up to five unseen categories, most frequent first.</param>
/// <param name="Problems">The limits crossed, in words (empty when none).</param>
public sealed record FeatureQuality(
    string Column,
    double MissingRate,
    double ReferenceMissingRate,
    double TypeErrorRate,
    double OutOfRangeRate,
    double? UnseenCategoryRate,
    IReadOnlyList<string> UnseenExamples,
    IReadOnlyList<string> Problems
)
{
    /// <summary>True when a limit was crossed.</summary>
    public bool Breached => Problems.Count > 0;
}

/// <summary>Data quality of the window's inputs.</summary>
/// <param name="Features">One entry per model input column.</param>
/// <param name="UnknownColumns">Columns the model does not know, with their row counts.</param>
/// <param name="Thresholds">Limits applied.</param>
/// <param name="Breached">Any feature crossed a limit.</param>
public sealed record DataQualityResult(
    IReadOnlyList<FeatureQuality> Features,
    IReadOnlyDictionary<string, long> UnknownColumns,
    QualityThresholds Thresholds,
    bool Breached
);

/// <summary>Missing rates, type errors, out-of-range values and unseen categories of served inputs (Evidently's
/// data-quality tests, with limits from the reference).</summary>
public static class QualityAnalysis
{
    /// <summary>Quality of every input column of <paramref name="window"/>.</summary>
    public static DataQualityResult Compute(WindowData window, QualityThresholds limits)
    {
        var features = window.Columns.Select(c => Feature(c, limits)).ToList();
        return new DataQualityResult(features, window.UnknownColumns, limits, features.Any(f => f.Breached));
    }

    private static FeatureQuality Feature(ColumnWindow c, QualityThresholds limits)
    {
        var reference = c.Reference;
        double rows = Math.Max(c.Rows, 1);
        double missing = c.Missing / rows,
            typeErrors = c.TypeErrors / rows;
        double outOfRange = 0;
        if (c.Sorted is { Length: > 0 } sorted && reference.Min is { } min && reference.Max is { } max)
            outOfRange =
                (SortedValues.LowerBound(sorted, min) + (sorted.Length - SortedValues.UpperBound(sorted, max))) / rows;
        double? unseen = null;
        var examples = new List<string>();
        if (c.Counts is not null && reference.Counts is not null && !reference.CountsTruncated)
        {
            var novel = c
                .Counts.Where(kv => !reference.Counts.ContainsKey(kv.Key))
                .OrderByDescending(kv => kv.Value)
                .ToList();
            unseen = novel.Sum(kv => kv.Value) / rows;
            examples.AddRange(novel.Take(5).Select(kv => kv.Key));
        }
        var problems = new List<string>();
        if (missing > reference.MissingRate + limits.MissingRateIncrease)
            problems.Add(
                $"missing in {missing:P1} of rows (training: {reference.MissingRate:P1}, allowed increase {limits.MissingRateIncrease:P1})"
            );
        if (typeErrors > limits.TypeErrorRate)
            problems.Add($"wrong type in {typeErrors:P1} of rows (allowed {limits.TypeErrorRate:P1})");
        if (outOfRange > limits.OutOfRangeRate)
            problems.Add(
                $"{outOfRange:P1} of values outside the training range [{reference.Min:G6}, {reference.Max:G6}] (allowed {limits.OutOfRangeRate:P1})"
            );
        if (unseen > limits.UnseenCategoryRate)
            problems.Add(
                $"{unseen:P1} of values are categories unseen in training, e.g. {string.Join(", ", examples)} (allowed {limits.UnseenCategoryRate:P1})"
            );
        return new FeatureQuality(
            reference.Name,
            missing,
            reference.MissingRate,
            typeErrors,
            outOfRange,
            unseen,
            examples,
            problems
        );
    }
}
