using System.Text.Json.Serialization;

namespace Mlops.Monitoring.Reference;

/// <summary>How a monitored value is read and compared.</summary>
public enum ReferenceKind
{
    /// <summary>Numbers (also booleans and datetimes as numbers): quantile sketch, range, moments.</summary>
    Numeric,

    /// <summary>Strings from a set: category counts.</summary>
    Categorical,

    /// <summary>Free text: only missing and type checks (no distribution test).</summary>
    Text,
}

/// <summary>
/// The training-time summary of one column (or of the model's output), everything a monitor run compares a production
/// window against, so it never has to read the training data again. Small by construction: at most
/// <see cref="ReferenceProfile.MaxSampleSize"/> sample points and <see cref="ReferenceProfile.MaxCategories"/>
/// categories.
/// </summary>
public sealed record FeatureReference
{
    /// <summary>Column name (or <c>prediction</c> for the output).</summary>
    public required string Name { get; init; }

    /// <summary>How values are compared.</summary>
    public required ReferenceKind Kind { get; init; }

    /// <summary>Rows in the reference, missing included.</summary>
    public long Rows { get; init; }

    /// <summary>Rows with a value.</summary>
    public long Count { get; init; }

    /// <summary>Share of rows without a value.</summary>
    public double MissingRate => Rows == 0 ? 0 : (double)(Rows - Count) / Rows;

    /// <summary>Distinct non-missing values (exact up to the category cap; numeric: exact).</summary>
    public long Distinct { get; init; }

    /// <summary>Smallest value (numeric).</summary>
    public double? Min { get; init; }

    /// <summary>Largest value (numeric).</summary>
    public double? Max { get; init; }

    /// <summary>Mean (numeric).</summary>
    public double? Mean { get; init; }

    /// <summary>Population standard deviation (numeric): the Wasserstein normaliser.</summary>
    public double? Std { get; init; }

    /// <summary>
    /// Numeric: the sorted values themselves when <see cref="Exact"/>, else <see
    /// cref="ReferenceProfile.MaxSampleSize"/> equally spaced quantiles (0 … 1). Either way an equally weighted sample
    /// of the distribution, so Wasserstein and histogram distances against it approximate the full-data values within
    /// one quantile step.
    /// </summary>
    public double[]? Sample { get; init; }

    /// <summary>True when <see cref="Sample"/> holds every non-missing value (small references: exact p-value
    /// tests).</summary>
    public bool Exact { get; init; }

    /// <summary>Value counts: categorical columns, and numeric columns with few distinct values (keys in round-trip
    /// form).</summary>
    public Dictionary<string, long>? Counts { get; init; }

    /// <summary>True when <see cref="Counts"/> was cut at the category cap (unseen-category checks are then
    /// skipped).</summary>
    public bool CountsTruncated { get; init; }

    /// <summary>Numeric: 20 equal-width bin counts between <see cref="Min"/> and <see cref="Max"/>, for the report's
    /// plots.</summary>
    public long[]? Histogram { get; init; }

    /// <summary>True when drift is tested on counts: categorical and text columns, and numeric ones with at most
    /// <see cref="Data.Drift.DriftDetector.NumericCategoricalMaxDistinct"/> distinct values (Evidently's
    /// rule).</summary>
    [JsonIgnore]
    public bool IsCategoricalLike =>
        Kind != ReferenceKind.Numeric
        || (Counts is not null && Distinct <= Data.Drift.DriftDetector.NumericCategoricalMaxDistinct);
}
