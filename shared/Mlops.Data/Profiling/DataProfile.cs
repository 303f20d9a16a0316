using Mlops.Data.Tabular;

namespace Mlops.Data.Profiling;

/// <summary>
/// Summary statistics of one dataset version, stored as <c>profile.json</c> next to the data. Small (a few KB per
/// column) so listings and reports never need the data itself.
/// </summary>
/// <param name="RowCount">Rows in the table (header excluded).</param>
/// <param name="Columns">One profile per column, in file order.</param>
/// <param name="Label">Name of the label column when one was given.</param>
/// <param name="LabelDistribution">Class frequencies of the label (classification) or null (no label / regression with
/// many values).</param>
/// <param name="DuplicateRowShare">Share of rows that repeat an earlier row exactly (0..1).</param>
public sealed record DataProfile(
    long RowCount,
    IReadOnlyList<ColumnProfile> Columns,
    string? Label,
    LabelDistribution? LabelDistribution,
    double DuplicateRowShare
)
{
    /// <summary>The column's profile, or null when the column is absent (indexed by name: see <see
    /// cref="ColumnIndex{T}"/>).</summary>
    public ColumnProfile? Find(string name) => ColumnIndex<ColumnProfile>.Find(Columns, name, static c => c.Name);
}

/// <summary>Statistics of one column. Numeric fields are null for string-like columns and vice versa.</summary>
/// <param name="Name">Column name.</param>
/// <param name="Kind">Logical type as read.</param>
/// <param name="Count">Non-missing values.</param>
/// <param name="Missing">Missing values.</param>
/// <param name="MissingRate">Missing / rows (0 for an empty table).</param>
/// <param name="Distinct">Distinct non-missing values (exact).</param>
/// <param name="Min">Smallest value (numeric-like kinds).</param>
/// <param name="Max">Largest value.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="Std">Population standard deviation.</param>
/// <param name="Quantiles">Quantiles at <see cref="DataProfiler.QuantileLevels"/> (p01 … p99), type 7 (linear) as in
/// numpy.</param>
/// <param name="Histogram">Equal-width histogram between min and max.</param>
/// <param name="TopValues">Most frequent values with counts and frequencies (string-like kinds, and numeric columns
/// with few distinct values).</param>
public sealed record ColumnProfile(
    string Name,
    ColumnKind Kind,
    long Count,
    long Missing,
    double MissingRate,
    long Distinct,
    double? Min = null,
    double? Max = null,
    double? Mean = null,
    double? Std = null,
    IReadOnlyList<QuantileValue>? Quantiles = null,
    Histogram? Histogram = null,
    IReadOnlyList<ValueFrequency>? TopValues = null
)
{
    /// <summary>True when the column holds at most one distinct non-missing value.</summary>
    public bool IsConstant => Distinct <= 1;
}

/// <summary>A quantile level (0..1) and its value.</summary>
public sealed record QuantileValue(double Level, double Value);

/// <summary>Equal-width histogram: <c>Edges.Count == Counts.Count + 1</c>; the last bin includes its upper
/// edge.</summary>
public sealed record Histogram(IReadOnlyList<double> Edges, IReadOnlyList<long> Counts);

/// <summary>A value (as text), how often it occurs and its share of the non-missing values.</summary>
public sealed record ValueFrequency(string Value, long Count, double Frequency);

/// <summary>Class counts and shares of the label column; missing labels are counted apart.</summary>
public sealed record LabelDistribution(string Column, IReadOnlyList<ValueFrequency> Classes, long Missing);
