using System.Globalization;
using Mlops.Data.Tabular;

namespace Mlops.ML.Models;

/// <summary>Reads target columns as class labels (text as it appeared; numbers in shortest round-trip form, so 1.0
/// reads as "1").</summary>
public static class Labels
{
    public static string?[] AsStrings(Column column)
    {
        if (column.Strings is not null && !column.IsNumericLike)
            return column.Strings;
        if (column.Kind == ColumnKind.Boolean)
            return column
                .Numbers!.Select(v =>
                    double.IsNaN(v) ? null
                    : v != 0 ? "true"
                    : "false"
                )
                .ToArray();
        // Labels repeat: format each distinct value once so 10M rows do not allocate 10M strings.
        var cache = new Dictionary<double, string>();
        var nums = column.Numbers!;
        var result = new string?[nums.Length];
        for (int i = 0; i < nums.Length; i++)
        {
            double v = nums[i];
            if (double.IsNaN(v))
                continue;
            if (!cache.TryGetValue(v, out var s))
            {
                s = v.ToString("R", CultureInfo.InvariantCulture);
                if (cache.Count < 10_000)
                    cache[v] = s;
            }
            result[i] = s;
        }
        return result;
    }

    /// <summary>Sorted classes: numerically when every label is a number, otherwise ordinally (like scikit-learn's
    /// LabelEncoder).</summary>
    public static string[] SortClasses(IEnumerable<string> labels)
    {
        var distinct = labels.Distinct(StringComparer.Ordinal).ToArray();
        bool numeric = distinct.All(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return numeric
            ? distinct
                .OrderBy(s => double.Parse(s, CultureInfo.InvariantCulture))
                .ThenBy(s => s, StringComparer.Ordinal)
                .ToArray()
            : distinct.OrderBy(s => s, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Regression targets as numbers (NaN = missing); a non-numeric target raises <see
    /// cref="MlException"/>.</summary>
    public static double[] AsNumbers(Column column)
    {
        if (column.Numbers is not null && column.IsNumericLike)
            return column.Numbers;
        throw new MlException(
            "bad_target",
            $"Target column '{column.Name}' is {column.Kind.ToString().ToLowerInvariant()}, but regression needs numbers."
        );
    }
}
