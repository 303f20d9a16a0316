using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Mlops.Data.Validation;

/// <summary>Verdict on a dataset version.</summary>
public enum ValidationOutcome
{
    /// <summary>No warnings or errors: usable for training.</summary>
    [JsonStringEnumMemberName("accepted")]
    Accepted,

    /// <summary>Warnings only: usable for training, reported (and alerted when configured).</summary>
    [JsonStringEnumMemberName("warning")]
    Warning,

    /// <summary>At least one error: copied to quarantine, never used for training; the pipeline stops.</summary>
    [JsonStringEnumMemberName("quarantined")]
    Quarantined,
}

/// <summary>Stable anomaly codes. Alerts, dashboards and severity overrides key on these strings; never rename
/// one.</summary>
public static class AnomalyCodes
{
    /// <summary>The file is not a readable CSV table (empty, binary, bad UTF-8, ragged rows, huge lines); names the
    /// line.</summary>
    public const string Malformed = "malformed";

    /// <summary>The file has more columns than the store accepts (<c>DatasetStoreOptions.MaxColumns</c>); quarantined
    /// unparsed.</summary>
    public const string TooManyColumns = "too_many_columns";

    /// <summary>The table has a header but no rows.</summary>
    public const string Empty = "empty";

    /// <summary>A schema column is absent (error when required).</summary>
    public const string ColumnMissing = "column_missing";

    /// <summary>A column not in the schema appeared.</summary>
    public const string ColumnExtra = "column_extra";

    /// <summary>A column is read as an incompatible type (e.g. text in a numeric column).</summary>
    public const string TypeChanged = "type_changed";

    /// <summary>Share of numeric values outside the schema range.</summary>
    public const string OutOfRange = "out_of_range";

    /// <summary>Share of values outside the schema's category set.</summary>
    public const string UnseenCategories = "unseen_categories";

    /// <summary>Missing rate above the schema's maximum.</summary>
    public const string MissingRateExceeded = "missing_rate_exceeded";

    /// <summary>Missing rate rose sharply since the previous accepted version.</summary>
    public const string MissingRateJump = "missing_rate_jump";

    /// <summary>Share of exact duplicate rows above the limit.</summary>
    public const string DuplicateRows = "duplicate_rows";

    /// <summary>A column that varied now holds a single value.</summary>
    public const string ConstantColumn = "constant_column";

    /// <summary>The label column is absent.</summary>
    public const string LabelMissing = "label_missing";

    /// <summary>Some rows have no label.</summary>
    public const string LabelValuesMissing = "label_values_missing";

    /// <summary>The label has a class the schema does not know.</summary>
    public const string LabelUnseenClass = "label_unseen_class";

    /// <summary>Label class balance moved more than the L∞ threshold.</summary>
    public const string LabelShift = "label_shift";

    /// <summary>A feature's distribution drifted from the previous accepted version.</summary>
    public const string FeatureDrift = "feature_drift";

    /// <summary>At least the configured share of features drifted.</summary>
    public const string DatasetDrift = "dataset_drift";

    /// <summary>Too few values to judge drift; recorded, never treated as drift.</summary>
    public const string InsufficientData = "insufficient_data";

    /// <summary>Too few (labelled) rows for the train/test split; the report states the minimum.</summary>
    public const string TooFewRows = "too_few_rows";

    /// <summary>A classification label with fewer than two classes.</summary>
    public const string SingleClass = "single_class";

    /// <summary>More label classes than the task allows (e.g. three with task binary).</summary>
    public const string TooManyClasses = "too_many_classes";

    /// <summary>A regression label that holds text.</summary>
    public const string LabelNotNumeric = "label_not_numeric";
}

/// <summary>One finding.</summary>
/// <param name="Code">Stable code from <see cref="AnomalyCodes"/>.</param>
/// <param name="Severity">Effective severity (after option overrides).</param>
/// <param name="Message">Plain-language explanation written for the person who owns the data.</param>
/// <param name="Column">Column concerned, if any.</param>
/// <param name="Value">The measured quantity (share, distance, …) when there is one.</param>
/// <param name="Threshold">The limit it was compared with.</param>
/// <param name="Line">1-based line in the file (malformed files).</param>
public sealed record Anomaly(
    string Code,
    Severity Severity,
    string Message,
    string? Column = null,
    double? Value = null,
    double? Threshold = null,
    long? Line = null
);

/// <summary>Drift result for one column — always computed and stored, drifted or not.</summary>
/// <param name="Column">Column name.</param>
/// <param name="Method">Test actually used (never <see cref="DriftMethod.Auto"/>).</param>
/// <param name="Statistic">Test statistic or distance (NaN when not computable).</param>
/// <param name="PValue">p-value for KS, chi-square and Z-tests; null for distances.</param>
/// <param name="Threshold">Limit applied (p-value or distance).</param>
/// <param name="Drifted">True when the threshold was crossed and the samples were large enough.</param>
/// <param name="InsufficientData">True when either sample had fewer than <see
/// cref="ValidationOptions.MinRowsForDrift"/> values.</param>
/// <param name="ReferenceCount">Non-missing values in the reference.</param>
/// <param name="CurrentCount">Non-missing values in the current version.</param>
/// <param name="IsLabel">The label column (its shift is judged by <c>label_shift</c>, not
/// <c>feature_drift</c>).</param>
public sealed record DriftResult(
    string Column,
    DriftMethod Method,
    double Statistic,
    double? PValue,
    double Threshold,
    bool Drifted,
    bool InsufficientData,
    long ReferenceCount,
    long CurrentCount,
    bool IsLabel = false
);

/// <summary>Label balance comparison with the previous accepted version.</summary>
/// <param name="Column">Label column.</param>
/// <param name="Reference">Class shares before.</param>
/// <param name="Current">Class shares now.</param>
/// <param name="LInfinity">Largest absolute change in a class share.</param>
/// <param name="Threshold">Configured limit.</param>
public sealed record LabelShiftResult(
    string Column,
    IReadOnlyDictionary<string, double> Reference,
    IReadOnlyDictionary<string, double> Current,
    double LInfinity,
    double Threshold
);

/// <summary>
/// The validation verdict on one dataset version, stored as <c>validation.json</c> next to the data (and in
/// quarantine).
/// </summary>
public sealed record ValidationReport
{
    /// <summary>Dataset name (set by the store).</summary>
    public string? Dataset { get; init; }

    /// <summary>SHA-256 of the file (set by the store).</summary>
    public string? Hash { get; init; }

    /// <summary>Hash of the version compared against, when there was one.</summary>
    public string? ReferenceHash { get; init; }

    /// <summary>Verdict derived from the anomalies' severities.</summary>
    public ValidationOutcome Outcome { get; init; }

    /// <summary>Rows validated.</summary>
    public long RowCount { get; init; }

    /// <summary>Findings, errors first.</summary>
    public IReadOnlyList<Anomaly> Anomalies { get; init; } = [];

    /// <summary>Per-column drift results (empty when there was no reference).</summary>
    public IReadOnlyList<DriftResult> Drift { get; init; } = [];

    /// <summary>Label balance comparison, when both versions have a categorical label.</summary>
    public LabelShiftResult? LabelShift { get; init; }

    /// <summary>When the report was produced.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>True when the version must not be used (quarantined).</summary>
    [JsonIgnore]
    public bool IsQuarantined => Outcome == ValidationOutcome.Quarantined;

    /// <summary>Errors only.</summary>
    [JsonIgnore]
    public IEnumerable<Anomaly> Errors => Anomalies.Where(a => a.Severity == Severity.Error);

    /// <summary>Outcome implied by a set of anomalies.</summary>
    public static ValidationOutcome OutcomeOf(IEnumerable<Anomaly> anomalies)
    {
        var list = anomalies as IReadOnlyCollection<Anomaly> ?? anomalies.ToList();
        if (list.Any(a => a.Severity == Severity.Error))
            return ValidationOutcome.Quarantined;
        if (list.Any(a => a.Severity == Severity.Warning))
            return ValidationOutcome.Warning;
        return ValidationOutcome.Accepted;
    }

    /// <summary>
    /// A short markdown summary for alerts and logs: verdict line, then errors and warnings (at most
    /// <paramref name="maxItems"/>), then the drifted columns.
    /// </summary>
    public string ToSummary(int maxItems = 10)
    {
        var sb = new StringBuilder();
        string what = Dataset is null ? "Dataset version" : $"Dataset '{Dataset}' version {Short(Hash)}";
        sb.Append(
            CultureInfo.InvariantCulture,
            $"**{what}: {Outcome.ToString().ToUpperInvariant()}** ({RowCount:N0} rows"
        );
        int errors = Anomalies.Count(a => a.Severity == Severity.Error),
            warnings = Anomalies.Count(a => a.Severity == Severity.Warning);
        sb.Append(CultureInfo.InvariantCulture, $", {errors} error(s), {warnings} warning(s))").AppendLine();
        foreach (var a in Anomalies.Where(a => a.Severity != Severity.Info).Take(maxItems))
            sb.Append("- ")
                .Append(a.Severity == Severity.Error ? "ERROR " : "warning ")
                .Append('`')
                .Append(a.Code)
                .Append("` ")
                .AppendLine(a.Message);
        int hidden = Anomalies.Count(a => a.Severity != Severity.Info) - maxItems;
        if (hidden > 0)
            sb.Append(CultureInfo.InvariantCulture, $"- … and {hidden} more").AppendLine();
        var drifted = Drift
            .Where(d => d.Drifted)
            .Select(d =>
                d.PValue is { } p
                    ? string.Create(CultureInfo.InvariantCulture, $"{d.Column} ({MethodName(d.Method)} p={p:0.####})")
                    : string.Create(
                        CultureInfo.InvariantCulture,
                        $"{d.Column} ({MethodName(d.Method)} {d.Statistic:0.###})"
                    )
            )
            .ToList();
        if (drifted.Count > 0)
            sb.Append("Drifted: ").AppendLine(string.Join(", ", drifted));
        return sb.ToString().TrimEnd();
    }

    internal static string MethodName(DriftMethod m) =>
        m switch
        {
            DriftMethod.KolmogorovSmirnov => "KS",
            DriftMethod.ChiSquare => "chi²",
            DriftMethod.ZTest => "Z-test",
            DriftMethod.Wasserstein => "Wasserstein",
            DriftMethod.JensenShannon => "JS",
            DriftMethod.Psi => "PSI",
            DriftMethod.LInfinity => "L∞",
            _ => m.ToString(),
        };

    private static string Short(string? hash) => hash is null ? "?" : hash[..Math.Min(12, hash.Length)];
}
