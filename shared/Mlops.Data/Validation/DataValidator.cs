using System.Globalization;
using Mlops.Core.Statistics;
using Mlops.Data.Drift;
using Mlops.Data.Profiling;
using Mlops.Data.Schema;
using Mlops.Data.Tabular;

namespace Mlops.Data.Validation;

/// <summary>
/// Checks a dataset version against its schema and the previous accepted version, and computes drift for every column.
/// Pure and deterministic: storage, quarantine and alerts are the caller's (<see cref="Versions.DatasetStore"/>) job.
/// </summary>
public static class DataValidator
{
    private static readonly IFormatProvider Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Validates <paramref name="current"/>.
    /// </summary>
    /// <param name="current">The new version's data.</param>
    /// <param name="currentProfile">Its profile (from <see cref="DataProfiler.Profile"/>; passed in because the store
    /// already has it).</param>
    /// <param name="schema">Expected shape (inferred or user-edited).</param>
    /// <param name="reference">Previous accepted version's data, for drift; null on the first version.</param>
    /// <param name="referenceProfile">Previous accepted version's profile, for missing-rate and label-balance
    /// changes.</param>
    /// <param name="options">Thresholds (validated here).</param>
    /// <param name="label">Label column; defaults to <see cref="DatasetSchema.Label"/>.</param>
    /// <param name="training">What training needs (task, split); when given, data it would trip on is an error
    /// here.</param>
    public static ValidationReport Validate(
        DataTable current,
        DataProfile currentProfile,
        DatasetSchema schema,
        DataTable? reference,
        DataProfile? referenceProfile,
        ValidationOptions? options = null,
        string? label = null,
        TrainingRequirements? training = null
    )
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(currentProfile);
        ArgumentNullException.ThrowIfNull(schema);
        var o = (options ?? ValidationOptions.Default).Validate();
        label ??= schema.Label;
        var found = new List<Anomaly>();

        if (current.RowCount == 0)
        {
            found.Add(new(AnomalyCodes.Empty, Severity.Error, "The file has a header but no data rows."));
            return Finish(found, [], null, 0, o);
        }

        CheckColumns(current, currentProfile, schema, referenceProfile, o, label, found);
        if (currentProfile.DuplicateRowShare > o.MaxDuplicateShare)
            found.Add(
                new(
                    AnomalyCodes.DuplicateRows,
                    Severity.Warning,
                    string.Format(
                        Inv,
                        "{0:P1} of rows are exact duplicates of an earlier row (limit {1:P1}).",
                        currentProfile.DuplicateRowShare,
                        o.MaxDuplicateShare
                    ),
                    Value: currentProfile.DuplicateRowShare,
                    Threshold: o.MaxDuplicateShare
                )
            );

        var labelShift = CheckLabel(current, currentProfile, schema, referenceProfile, o, label, found);
        if (training is not null && label is not null)
            TrainabilityCheck.Check(current, label, training, found);
        var drift = reference is null ? [] : ComputeDrift(current, reference, o, label, found);
        return Finish(found, drift, labelShift, current.RowCount, o);
    }

    private static void CheckColumns(
        DataTable current,
        DataProfile profile,
        DatasetSchema schema,
        DataProfile? referenceProfile,
        ValidationOptions o,
        string? label,
        List<Anomaly> found
    )
    {
        foreach (var cs in schema.Columns)
        {
            var col = current.Find(cs.Name);
            if (col is null)
            {
                // The label's absence is reported once, by the label check, with its own code.
                if (cs.Name == label)
                    continue;
                found.Add(
                    new(
                        AnomalyCodes.ColumnMissing,
                        cs.Required ? Severity.Error : Severity.Warning,
                        $"Column '{cs.Name}' is missing{(cs.Required ? " but the schema requires it" : "")}.",
                        cs.Name
                    )
                );
                continue;
            }
            if (!cs.Accepts(col.Kind))
            {
                found.Add(
                    new(
                        AnomalyCodes.TypeChanged,
                        Severity.Error,
                        $"Column '{cs.Name}' was {Name(cs.Kind)} and is now read as {Name(col.Kind)} (check for text in a number column or a changed format).",
                        cs.Name
                    )
                );
                continue;
            }
            var cp = profile.Find(cs.Name)!;
            CheckRange(col, cs, o, found);
            CheckCategories(col, cs, o, found);

            if (cs.MaxMissingRate is { } maxMissing && cp.MissingRate > maxMissing)
                found.Add(
                    new(
                        AnomalyCodes.MissingRateExceeded,
                        Severity.Error,
                        string.Format(
                            Inv,
                            "Column '{0}' is missing in {1:P1} of rows; the schema allows at most {2:P1}.",
                            cs.Name,
                            cp.MissingRate,
                            maxMissing
                        ),
                        cs.Name,
                        cp.MissingRate,
                        maxMissing
                    )
                );

            if (referenceProfile?.Find(cs.Name) is { } rp && cp.MissingRate - rp.MissingRate > o.MaxMissingRateIncrease)
                found.Add(
                    new(
                        AnomalyCodes.MissingRateJump,
                        Severity.Warning,
                        string.Format(
                            Inv,
                            "Column '{0}' missing rate rose from {1:P1} to {2:P1} since the previous version.",
                            cs.Name,
                            rp.MissingRate,
                            cp.MissingRate
                        ),
                        cs.Name,
                        cp.MissingRate - rp.MissingRate,
                        o.MaxMissingRateIncrease
                    )
                );

            if (cp.IsConstant && !cs.Constant && current.RowCount > 1)
                found.Add(
                    new(
                        AnomalyCodes.ConstantColumn,
                        Severity.Warning,
                        cp.Distinct == 0
                            ? $"Column '{cs.Name}' has no values at all."
                            : $"Column '{cs.Name}' holds a single value ('{cp.TopValues?.FirstOrDefault()?.Value ?? Fmt(cp.Min)}') in every row.",
                        cs.Name
                    )
                );
        }

        if (!schema.AllowExtraColumns)
            foreach (var col in current.Columns)
                if (schema.Find(col.Name) is null)
                    found.Add(
                        new(
                            AnomalyCodes.ColumnExtra,
                            Severity.Warning,
                            $"Column '{col.Name}' is not in the schema (add it to schema.json to track it).",
                            col.Name
                        )
                    );
    }

    private static void CheckRange(Column col, ColumnSchema cs, ValidationOptions o, List<Anomaly> found)
    {
        if (!ColumnData.IsNumeric(col) || (cs.Min is null && cs.Max is null))
            return;
        var s = ColumnData.Sorted(col);
        if (s.Length == 0)
            return;
        long below = cs.Min is { } lo ? SortedValues.LowerBound(s, lo) : 0; // values < lo
        long above = cs.Max is { } hi ? s.Length - SortedValues.UpperBound(s, hi) : 0; // values > hi
        long outside = below + above;
        if (outside == 0)
            return;
        double share = (double)outside / s.Length;
        found.Add(
            new(
                AnomalyCodes.OutOfRange,
                share > o.MaxOutOfRangeShare ? Severity.Error : Severity.Info,
                string.Format(
                    Inv,
                    "Column '{0}': {1:N0} value(s) ({2:P2}) lie outside [{3}, {4}] (observed {5} to {6}).",
                    cs.Name,
                    outside,
                    share,
                    Fmt(cs.Min),
                    Fmt(cs.Max),
                    Fmt(s[0]),
                    Fmt(s[^1])
                ),
                cs.Name,
                share,
                o.MaxOutOfRangeShare
            )
        );
    }

    private static void CheckCategories(Column col, ColumnSchema cs, ValidationOptions o, List<Anomaly> found)
    {
        if (cs.Categories is null || ColumnData.IsNumeric(col))
            return;
        var allowed = new HashSet<string>(cs.Categories, StringComparer.Ordinal);
        var counts = ColumnData.Counts(col);
        long total = 0,
            unseen = 0;
        var examples = new List<string>();
        foreach (var (k, n) in counts.OrderByDescending(kv => kv.Value))
        {
            total += n;
            if (allowed.Contains(k))
                continue;
            unseen += n;
            if (examples.Count < 5)
                examples.Add(k);
        }
        if (unseen == 0 || total == 0)
            return;
        double share = (double)unseen / total;
        found.Add(
            new(
                AnomalyCodes.UnseenCategories,
                share > o.MaxUnseenCategoryShare ? Severity.Error : Severity.Warning,
                string.Format(
                    Inv,
                    "Column '{0}': {1:P2} of values are categories not in the schema, e.g. {2}.",
                    cs.Name,
                    share,
                    string.Join(", ", examples.Select(e => $"'{e}'"))
                ),
                cs.Name,
                share,
                o.MaxUnseenCategoryShare
            )
        );
    }

    private static LabelShiftResult? CheckLabel(
        DataTable current,
        DataProfile profile,
        DatasetSchema schema,
        DataProfile? referenceProfile,
        ValidationOptions o,
        string? label,
        List<Anomaly> found
    )
    {
        if (label is null)
            return null;
        var col = current.Find(label);
        if (col is null)
        {
            found.Add(
                new(
                    AnomalyCodes.LabelMissing,
                    Severity.Error,
                    $"The label column '{label}' is missing, so the data cannot be used for training.",
                    label
                )
            );
            return null;
        }
        var lp = profile.Find(label)!;
        if (lp.Missing > 0)
            found.Add(
                new(
                    AnomalyCodes.LabelValuesMissing,
                    Severity.Error,
                    string.Format(
                        Inv,
                        "The label '{0}' is empty in {1:N0} row(s) ({2:P2}).",
                        label,
                        lp.Missing,
                        lp.MissingRate
                    ),
                    label,
                    lp.MissingRate
                )
            );

        var dist =
            profile.LabelDistribution?.Column == label
                ? profile.LabelDistribution
                : DataProfiler.LabelDistributionOf(col);
        if (dist is null)
            return null;
        if (schema.LabelClasses is { } known)
        {
            var unseen = dist.Classes.Where(c => !known.Contains(c.Value, StringComparer.Ordinal)).ToList();
            if (unseen.Count > 0)
                found.Add(
                    new(
                        AnomalyCodes.LabelUnseenClass,
                        Severity.Error,
                        $"The label '{label}' has class(es) never seen before: {string.Join(", ", unseen.Take(5).Select(c => $"'{c.Value}' ({c.Count:N0} rows)"))}; known: {string.Join(", ", known.Take(10))}.",
                        label,
                        unseen.Sum(c => c.Frequency)
                    )
                );
        }

        var before = referenceProfile?.LabelDistribution;
        if (before is null || before.Column != label || o.LabelShiftSeverity == Severity.Off)
            return null;
        var refCounts = before.Classes.ToDictionary(c => c.Value, c => c.Count, StringComparer.Ordinal);
        var curCounts = dist.Classes.ToDictionary(c => c.Value, c => c.Count, StringComparer.Ordinal);
        double linf = DriftStatistics.LInfinity(refCounts, curCounts);
        var result = new LabelShiftResult(
            label,
            before.Classes.ToDictionary(c => c.Value, c => Math.Round(c.Frequency, 6)),
            dist.Classes.ToDictionary(c => c.Value, c => Math.Round(c.Frequency, 6)),
            linf,
            o.LabelShiftThreshold
        );
        if (linf > o.LabelShiftThreshold)
            found.Add(
                new(
                    AnomalyCodes.LabelShift,
                    o.LabelShiftSeverity,
                    string.Format(
                        Inv,
                        "Label balance shifted by {0:0.###} (L∞, limit {1:0.###}): {2} → {3}.",
                        linf,
                        o.LabelShiftThreshold,
                        Shares(result.Reference),
                        Shares(result.Current)
                    ),
                    label,
                    linf,
                    o.LabelShiftThreshold
                )
            );
        return result;
    }

    private static List<DriftResult> ComputeDrift(
        DataTable current,
        DataTable reference,
        ValidationOptions o,
        string? label,
        List<Anomaly> found
    )
    {
        var pairs = current.Columns.Where(c => reference.Contains(c.Name)).ToList();
        var results = new DriftResult?[pairs.Count];
        // Independent per column; sorting dominates, so two cores nearly halve the time on large tables.
        Parallel.For(0, pairs.Count, i =>
        {
            var cur = pairs[i];
            results[i] = DriftDetector.Compute(reference[cur.Name], cur, o.Drift.For(cur.Name), o, cur.Name == label);
        });
        var drift = results.Where(r => r is not null).Select(r => r!).ToList();

        foreach (var d in drift.Where(d => d.Drifted && !d.IsLabel))
        {
            var sev = o.Drift.For(d.Column).Severity;
            string measure = d.PValue is { } p
                ? string.Format(
                    Inv,
                    "{0} p-value {1:0.####} < {2}",
                    ValidationReport.MethodName(d.Method),
                    p,
                    d.Threshold
                )
                : string.Format(
                    Inv,
                    "{0} {1:0.###} ≥ {2}",
                    ValidationReport.MethodName(d.Method),
                    d.Statistic,
                    d.Threshold
                );
            found.Add(
                new(
                    AnomalyCodes.FeatureDrift,
                    sev,
                    $"Column '{d.Column}' drifted from the previous version ({measure}).",
                    d.Column,
                    d.PValue ?? d.Statistic,
                    d.Threshold
                )
            );
        }
        var insufficient = drift.Where(d => d.InsufficientData).Select(d => d.Column).ToList();
        if (insufficient.Count > 0)
            found.Add(
                new(
                    AnomalyCodes.InsufficientData,
                    Severity.Info,
                    $"Too few values to judge drift (< {o.MinRowsForDrift}) in: {string.Join(", ", insufficient.Take(10))}{(insufficient.Count > 10 ? ", …" : "")}."
                )
            );

        var features = drift.Where(d => !d.IsLabel && !d.InsufficientData).ToList();
        if (features.Count > 0)
        {
            double share = (double)features.Count(d => d.Drifted) / features.Count;
            if (share >= o.DriftShare && features.Any(d => d.Drifted))
                found.Add(
                    new(
                        AnomalyCodes.DatasetDrift,
                        Severity.Warning,
                        string.Format(Inv, "{0:P0} of feature columns drifted (limit {1:P0}).", share, o.DriftShare),
                        Value: share,
                        Threshold: o.DriftShare
                    )
                );
        }
        return drift;
    }

    private static ValidationReport Finish(
        List<Anomaly> found,
        List<DriftResult> drift,
        LabelShiftResult? labelShift,
        long rows,
        ValidationOptions o
    )
    {
        var anomalies = found
            .Select(a => o.Severities.TryGetValue(a.Code, out var s) ? a with { Severity = s } : a)
            .Where(a => a.Severity != Severity.Off)
            .OrderByDescending(a => a.Severity)
            .ToList();
        return new ValidationReport
        {
            Outcome = ValidationReport.OutcomeOf(anomalies),
            RowCount = rows,
            Anomalies = anomalies,
            Drift = drift,
            LabelShift = labelShift,
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    /// <summary>A file wider than the store accepts: quarantined before parsing, with the count and the
    /// limit.</summary>
    public static ValidationReport TooManyColumns(int columns, int limit)
    {
        var a = new Anomaly(
            AnomalyCodes.TooManyColumns,
            Severity.Error,
            $"The file has {columns:N0} columns; at most {limit:N0} are accepted (DatasetStoreOptions.MaxColumns). "
                + "Check that it is not transposed (one row per example, one column per feature).",
            Line: 1,
            Value: columns,
            Threshold: limit
        );
        return new ValidationReport
        {
            Outcome = ValidationOutcome.Quarantined,
            Anomalies = [a],
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    /// <summary>
    /// A report for a file that could not be read as a table at all: one <c>malformed</c> error carrying
    /// <paramref name="message"/> verbatim (callers put the location in it, e.g. "Line 7, column 3: …") and the line.
    /// </summary>
    public static ValidationReport Malformed(string message, long? line = null)
    {
        var a = new Anomaly(AnomalyCodes.Malformed, Severity.Error, message, Line: line);
        return new ValidationReport
        {
            Outcome = ValidationOutcome.Quarantined,
            Anomalies = [a],
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    private static string Name(ColumnKind k) => k.ToString().ToLowerInvariant();

    private static string Fmt(double? v) => v is { } x ? x.ToString("G6", Inv) : "-∞/∞";

    private static string Shares(IReadOnlyDictionary<string, double> d) =>
        string.Join(
            "/",
            d.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => string.Format(Inv, "{0}:{1:0.#}%", kv.Key, kv.Value * 100))
        );
}
