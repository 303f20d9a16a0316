using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Reports;

/// <summary>
/// Reference and window distributions of one column on common bins, for the report's plots: numeric columns on the
/// reference's 20 equal-width bins over its [min, max] (values outside go to the end bins), categorical columns as the
/// shares of the 10 most frequent categories of either side.
/// </summary>
/// <param name="Column">Column name (<c>score</c> for the output).</param>
/// <param name="Bins">Bin labels.</param>
/// <param name="Reference">Reference share per bin.</param>
/// <param name="Current">Window share per bin.</param>
public sealed record FeatureDistribution(
    string Column,
    IReadOnlyList<string> Bins,
    IReadOnlyList<double> Reference,
    IReadOnlyList<double> Current
)
{
    private const int TopCategories = 10;

    /// <summary>Distributions of a window column and its reference; null when there is nothing to plot.</summary>
    public static FeatureDistribution? Of(ColumnWindow c)
    {
        var r = c.Reference;
        if (
            r.Kind == ReferenceKind.Numeric
            && r.Histogram is { } refBins
            && r.Min is { } lo
            && r.Max is { } hi
            && c.Sorted is { } sorted
        )
        {
            var cur = FeatureSummaries.Histogram(sorted, lo, hi);
            double width = (hi - lo) / refBins.Length;
            var labels = Enumerable
                .Range(0, refBins.Length)
                .Select(i => (lo + i * width).ToString("G4", System.Globalization.CultureInfo.InvariantCulture))
                .ToList();
            return new FeatureDistribution(r.Name, labels, Shares(refBins), Shares(cur));
        }
        if (r.Counts is { } refCounts && c.Counts is { } curCounts)
        {
            var keys = refCounts
                .OrderByDescending(kv => kv.Value)
                .Take(TopCategories)
                .Select(kv => kv.Key)
                .Union(curCounts.OrderByDescending(kv => kv.Value).Take(TopCategories).Select(kv => kv.Key))
                .ToList();
            double rs = Math.Max(1, refCounts.Values.Sum()),
                cs = Math.Max(1, curCounts.Values.Sum());
            return new FeatureDistribution(
                r.Name,
                keys,
                keys.Select(k => refCounts.GetValueOrDefault(k) / rs).ToList(),
                keys.Select(k => curCounts.GetValueOrDefault(k) / cs).ToList()
            );
        }
        return null;
    }

    private static double[] Shares(long[] counts)
    {
        double total = Math.Max(1, counts.Sum());
        return counts.Select(v => v / total).ToArray();
    }
}
