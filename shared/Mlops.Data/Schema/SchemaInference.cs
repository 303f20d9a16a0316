using Mlops.Data.Profiling;
using Mlops.Data.Tabular;
using Mlops.Data.Validation;

namespace Mlops.Data.Schema;

/// <summary>
/// Infers a <see cref="DatasetSchema"/> from a profile, TFDV-style: types as read, every column required, numeric
/// ranges widened by a tolerance, category sets when a column has at most <see cref="ValidationOptions.MaxDomainSize"/>
/// values, and a missing-rate ceiling of observed + <see cref="ValidationOptions.MaxMissingRateIncrease"/>.
/// </summary>
public static class SchemaInference
{
    /// <summary>Infers a schema from a profile.</summary>
    public static DatasetSchema Infer(
        DataProfile profile,
        ValidationOptions? options = null,
        string dataset = "",
        string? inferredFrom = null
    )
    {
        ArgumentNullException.ThrowIfNull(profile);
        var o = (options ?? ValidationOptions.Default).Validate();
        var columns = profile.Columns.Select(c => InferColumn(c, o)).ToList();
        List<string>? classes = profile.LabelDistribution?.Classes.Select(c => c.Value).ToList();
        return new DatasetSchema
        {
            Dataset = dataset,
            InferredFrom = inferredFrom,
            Label = profile.Label is { } l && profile.Find(l) is not null ? l : null,
            LabelClasses = classes,
            Columns = columns,
        };
    }

    /// <summary>Profiles <paramref name="table"/> and infers from the profile.</summary>
    public static DatasetSchema Infer(DataTable table, string? label = null, ValidationOptions? options = null) =>
        Infer(DataProfiler.Profile(table, label), options);

    private static ColumnSchema InferColumn(ColumnProfile c, ValidationOptions o)
    {
        double? min = null,
            max = null;
        List<string>? categories = null;
        if (c.Kind is ColumnKind.Numeric or ColumnKind.DateTime && c.Min is { } lo && c.Max is { } hi)
        {
            // Widen by a share of the width so the natural spread of a new sample (new extremes) is not an anomaly;
            // a constant column gets a slack of the magnitude instead of a zero-width range.
            double slack = hi > lo ? (hi - lo) * o.RangeTolerance : Math.Max(Math.Abs(lo), 1) * o.RangeTolerance;
            min = lo - slack;
            max = hi + slack;
        }
        else if (
            c.Kind is ColumnKind.Categorical or ColumnKind.Text
            && c.TopValues is { } top
            && c.Distinct <= o.MaxDomainSize
            && c.Distinct <= top.Count
        )
        {
            categories = top.Select(t => t.Value).OrderBy(v => v, StringComparer.Ordinal).ToList();
        }
        return new ColumnSchema
        {
            Name = c.Name,
            Kind = c.Kind,
            Required = true,
            Min = min,
            Max = max,
            Categories = categories,
            MaxMissingRate = Math.Min(1, Math.Round(c.MissingRate + o.MaxMissingRateIncrease, 6)),
            Constant = c.IsConstant,
        };
    }
}
