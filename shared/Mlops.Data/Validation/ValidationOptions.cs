using System.Text.Json;
using System.Text.Json.Serialization;
using Mlops.Core;

namespace Mlops.Data.Validation;

/// <summary>How bad an anomaly is. <see cref="Error"/> quarantines the version and stops the pipeline; <see
/// cref="Warning"/> lets it continue but is reported and alerted; <see cref="Info"/> is recorded only.</summary>
public enum Severity
{
    /// <summary>Recorded in the report only.</summary>
    [JsonStringEnumMemberName("info")]
    Info,

    /// <summary>Reported; the version stays usable.</summary>
    [JsonStringEnumMemberName("warning")]
    Warning,

    /// <summary>Quarantines the version; the pipeline stops.</summary>
    [JsonStringEnumMemberName("error")]
    Error,

    /// <summary>Only in option overrides: drop the anomaly entirely.</summary>
    [JsonStringEnumMemberName("off")]
    Off,
}

/// <summary>Drift test. <see cref="Auto"/> picks by reference size and column type as Evidently does.</summary>
public enum DriftMethod
{
    /// <summary>Choose by reference size and column type (see <see cref="Drift.DriftDetector"/>).</summary>
    [JsonStringEnumMemberName("auto")]
    Auto,

    /// <summary>Two-sample Kolmogorov–Smirnov (p-value).</summary>
    [JsonStringEnumMemberName("ks")]
    KolmogorovSmirnov,

    /// <summary>Chi-square test of homogeneity on category counts (p-value).</summary>
    [JsonStringEnumMemberName("chisquare")]
    ChiSquare,

    /// <summary>Two-proportion Z-test for binary columns (p-value).</summary>
    [JsonStringEnumMemberName("ztest")]
    ZTest,

    /// <summary>Wasserstein-1 distance / reference standard deviation.</summary>
    [JsonStringEnumMemberName("wasserstein")]
    Wasserstein,

    /// <summary>Jensen–Shannon distance, base 2 (0..1).</summary>
    [JsonStringEnumMemberName("jensenshannon")]
    JensenShannon,

    /// <summary>Population stability index.</summary>
    [JsonStringEnumMemberName("psi")]
    Psi,

    /// <summary>L∞ distance between category shares.</summary>
    [JsonStringEnumMemberName("linf")]
    LInfinity,

    /// <summary>Do not compute drift for this column.</summary>
    [JsonStringEnumMemberName("none")]
    None,
}

/// <summary>Drift settings for one column (or the default for all).</summary>
/// <param name="Method">Test to use; <see cref="DriftMethod.Auto"/> chooses by size and type.</param>
/// <param name="Threshold">
/// For p-value tests (ks, chisquare, ztest) drift means p &lt; threshold; for distances (wasserstein, jensenshannon,
/// psi, linf) drift means statistic ≥ threshold. Null uses the method's default: 0.05 for p-values, 0.1 for distances.
/// </param>
/// <param name="Severity">Severity of the <c>feature_drift</c> anomaly when the column drifts.</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record DriftColumnOptions(
    DriftMethod Method = DriftMethod.Auto,
    double? Threshold = null,
    Severity Severity = Severity.Warning
);

/// <summary>Drift settings: a default plus per-column overrides.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record DriftOptions
{
    /// <summary>Applies to every column without an entry in <see cref="Columns"/>.</summary>
    public DriftColumnOptions Default { get; init; } = new();

    /// <summary>Per-column overrides, by column name.</summary>
    public Dictionary<string, DriftColumnOptions> Columns { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The options for <paramref name="column"/>.</summary>
    public DriftColumnOptions For(string column) => Columns.TryGetValue(column, out var o) ? o : Default;
}

/// <summary>
/// Validation settings: the <c>validation</c> section of a pipeline's <c>mlops.json</c>. Every property has a default,
/// so <c>{}</c> (or no section) is valid. Call <see cref="Validate"/> (done by <see cref="FromMlopsJson"/> and by
/// <see cref="Versions.DatasetStore"/>) before use.
/// </summary>
/// <remarks>Unknown property names are rejected (a misspelt threshold must not silently fall back to its
/// default).</remarks>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ValidationOptions
{
    /// <summary>L∞ distance between label class shares (previous accepted → current) that raises <c>label_shift</c>.
    /// 50/50 → 70/30 is 0.2.</summary>
    public double LabelShiftThreshold { get; init; } = 0.1;

    /// <summary>Severity of <c>label_shift</c>.</summary>
    public Severity LabelShiftSeverity { get; init; } = Severity.Error;

    /// <summary>Per-column drift tests and thresholds.</summary>
    public DriftOptions Drift { get; init; } = new();

    /// <summary>Rise in a column's missing rate versus the previous accepted version that raises
    /// <c>missing_rate_jump</c>; also the slack added to the observed missing rate when a schema is inferred.</summary>
    public double MaxMissingRateIncrease { get; init; } = 0.2;

    /// <summary>Share of values outside the schema range above which <c>out_of_range</c> is an error (below: info).
    /// 5% because ranges inferred from a small first version are narrow: a few new extremes are normal, a block is
    /// not.</summary>
    public double MaxOutOfRangeShare { get; init; } = 0.05;

    /// <summary>Share of values outside the schema's category set above which <c>unseen_categories</c> is an error
    /// (below: warning).</summary>
    public double MaxUnseenCategoryShare { get; init; } = 0.01;

    /// <summary>Share of exact duplicate rows that raises <c>duplicate_rows</c> (warning).</summary>
    public double MaxDuplicateShare { get; init; } = 0.05;

    /// <summary>Fewer non-missing values than this in either sample: drift is reported as insufficient data, never as
    /// drift.</summary>
    public int MinRowsForDrift { get; init; } = 30;

    /// <summary>Reference sizes up to this use p-value tests (KS, chi-square, Z); larger ones use distances
    /// (Evidently's rule).</summary>
    public int SmallSampleMaxRows { get; init; } = 1000;

    /// <summary>Share of drifted feature columns at which <c>dataset_drift</c> (warning) is raised.</summary>
    public double DriftShare { get; init; } = 0.5;

    /// <summary>Schema inference: a numeric range is widened by this fraction of its width on both sides.</summary>
    public double RangeTolerance { get; init; } = 0.1;

    /// <summary>Schema inference: categorical columns with at most this many values get a category set (TFDV's default
    /// is 100).</summary>
    public int MaxDomainSize { get; init; } = 100;

    /// <summary>Bins for PSI on numeric columns (reference quantile bins).</summary>
    public int PsiBins { get; init; } = 10;

    /// <summary>The settings the drift judge reads (<see cref="Mlops.Data.Drift.DriftDetector.Judge"/>), shared with
    /// monitoring.</summary>
    [JsonIgnore]
    public Mlops.Data.Drift.DriftRules DriftRules => new(SmallSampleMaxRows, MinRowsForDrift, PsiBins);

    /// <summary>Severity overrides by anomaly code (e.g.
    /// <c>{"duplicate_rows":"error","column_extra":"off"}</c>).</summary>
    public Dictionary<string, Severity> Severities { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Also alert on versions accepted with warnings (quarantines always alert).</summary>
    public bool AlertOnWarning { get; init; }

    /// <summary>Defaults.</summary>
    public static ValidationOptions Default { get; } = new();

    /// <summary>Checks ranges; throws <see cref="DataException"/> (code <c>data.options</c>) naming the bad
    /// setting.</summary>
    public ValidationOptions Validate()
    {
        Share(nameof(LabelShiftThreshold), LabelShiftThreshold);
        Share(nameof(MaxMissingRateIncrease), MaxMissingRateIncrease);
        Share(nameof(MaxOutOfRangeShare), MaxOutOfRangeShare);
        Share(nameof(MaxUnseenCategoryShare), MaxUnseenCategoryShare);
        Share(nameof(MaxDuplicateShare), MaxDuplicateShare);
        Share(nameof(DriftShare), DriftShare);
        if (RangeTolerance < 0 || double.IsNaN(RangeTolerance))
            Fail(nameof(RangeTolerance), "must be ≥ 0");
        if (MinRowsForDrift < 2)
            Fail(nameof(MinRowsForDrift), "must be ≥ 2");
        if (SmallSampleMaxRows < 0)
            Fail(nameof(SmallSampleMaxRows), "must be ≥ 0");
        if (MaxDomainSize is < 1 or > 100_000)
            Fail(nameof(MaxDomainSize), "must be between 1 and 100000");
        if (PsiBins is < 2 or > 1000)
            Fail(nameof(PsiBins), "must be between 2 and 1000");
        if (LabelShiftSeverity == Severity.Off)
        { /* allowed: disables the check */
        }
        if (Drift is null)
            Fail(nameof(Drift), "must not be null");
        CheckDrift("drift.default", Drift!.Default);
        foreach (var (col, o) in Drift.Columns)
            CheckDrift($"drift.columns.{col}", o);
        return this;
    }

    private static void CheckDrift(string path, DriftColumnOptions? o)
    {
        if (o is null)
            Fail(path, "must not be null");
        if (o!.Threshold is { } t && (double.IsNaN(t) || t < 0))
            Fail(path + ".threshold", "must be ≥ 0");
        if (
            o.Threshold is { } p
            && o.Method is DriftMethod.KolmogorovSmirnov or DriftMethod.ChiSquare or DriftMethod.ZTest
            && p > 1
        )
            Fail(path + ".threshold", "is a p-value for this method and must be ≤ 1");
    }

    private static void Share(string name, double v)
    {
        if (double.IsNaN(v) || v < 0 || v > 1)
            Fail(name, $"must be between 0 and 1 (was {v})");
    }

    private static void Fail(string name, string why) =>
        throw new DataException("data.options", $"validation.{char.ToLowerInvariant(name[0])}{name[1..]} {why}.");

    /// <summary>
    /// Reads the <c>validation</c> section of an <c>mlops.json</c> document (absent → defaults) and validates it.
    /// Property names are camelCase; enums are lower-case strings.
    /// </summary>
    /// <exception cref="DataException">Malformed JSON or invalid values (code <c>data.options</c>).</exception>
    public static ValidationOptions FromMlopsJson(string mlopsJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(
                mlopsJson,
                new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }
            );
            if (
                !doc.RootElement.TryGetProperty("validation", out var section)
                || section.ValueKind == JsonValueKind.Null
            )
                return Default;
            return FromJson(section.GetRawText());
        }
        catch (JsonException ex)
        {
            throw new DataException("data.options", $"mlops.json is not valid JSON: {ex.Message}", inner: ex);
        }
    }

    /// <summary>Reads a <c>validation</c> section itself (the object) and validates it.</summary>
    public static ValidationOptions FromJson(string validationSectionJson)
    {
        try
        {
            var o = JsonSerializer.Deserialize<ValidationOptions>(validationSectionJson, Json.Options) ?? Default;
            // JSON dictionaries arrive with the default comparer; keep lookups ordinal and case-sensitive like column
            // names.
            return o.Validate();
        }
        catch (JsonException ex)
        {
            throw new DataException("data.options", $"The validation section is invalid: {ex.Message}", inner: ex);
        }
    }
}

/// <summary>Helpers for reading options out of an already-parsed pipeline configuration.</summary>
public static class ValidationOptionsJson
{
    /// <summary>Reads a <c>validation</c> section held as a <see cref="System.Text.Json.JsonElement"/> (null/undefined
    /// → defaults).</summary>
    public static ValidationOptions FromElement(System.Text.Json.JsonElement? section) =>
        section
            is { ValueKind: not (System.Text.Json.JsonValueKind.Null or System.Text.Json.JsonValueKind.Undefined) } s
            ? ValidationOptions.FromJson(s.GetRawText())
            : ValidationOptions.Default;
}
