using System.Text.Json;
using System.Text.Json.Serialization;
using Mlops.Data.Tabular;
using Mlops.ML.Models;

namespace Mlops.ML.Explain;

/// <summary>Global importance of one input column: mean |contribution| over rows (summed over outputs) and its share of
/// the total.</summary>
public sealed record ColumnAttribution(string Column, double MeanAbs, double Share);

/// <summary>
/// Global importance from exact explanations ("mean |SHAP|"): per input column, the mean absolute contribution over a
/// set of rows, summed over the model's raw outputs, with each column's share of the total. Stored with a model version
/// at registration (<see cref="FileName"/>) and recomputed by the monitor over a window to detect attribution drift.
/// </summary>
public sealed record AttributionSummary(string Method, int Rows, IReadOnlyList<ColumnAttribution> Columns)
{
    /// <summary>The file a registered version keeps it in.</summary>
    public const string FileName = "importance_shap.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// Mean |contribution| per column over the rows of <paramref name="data"/> (at most <paramref name="maxRows"/>, the
    /// first ones); columns in descending importance.
    /// </summary>
    /// <exception cref="MlException"><c>explain_unavailable</c> when the model cannot be explained; <c>no_rows</c> when
    /// the data is empty.</exception>
    public static AttributionSummary Compute(
        Model model,
        DataTable data,
        int maxRows = 5000,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (data.RowCount == 0)
            throw new MlException("no_rows", "Global importance needs at least one row.");
        if (data.RowCount > maxRows)
            data = data.SelectRows(Enumerable.Range(0, maxRows).ToArray());
        var explainer = ModelExplainer.For(model);
        var explanations = explainer.ExplainBatch(data, cancellationToken);
        return FromExplanations(explainer.Method, explainer.Columns, explanations);
    }

    /// <summary>Aggregates already computed explanations (all of the same model).</summary>
    public static AttributionSummary FromExplanations(
        string method,
        IReadOnlyList<string> columns,
        IReadOnlyList<Explanation> explanations
    )
    {
        var sums = new double[columns.Count];
        foreach (var e in explanations)
            for (int o = 0; o < e.Outputs.Count; o++)
            {
                var row = e.For(o);
                for (int j = 0; j < row.Length; j++)
                    sums[j] += Math.Abs(row[j]);
            }
        int n = explanations.Count;
        double total = sums.Sum();
        var list = columns
            .Select((c, j) => new ColumnAttribution(c, n == 0 ? 0 : sums[j] / n, total > 0 ? sums[j] / total : 0))
            .OrderByDescending(c => c.MeanAbs)
            .ThenBy(c => c.Column, StringComparer.Ordinal)
            .ToList();
        return new AttributionSummary(method, n, list);
    }

    /// <summary>The JSON form (camelCase: <c>method</c>, <c>rows</c>, <c>columns[{column, meanAbs,
    /// share}]</c>).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <see cref="ToJson"/>'s form; a clear <see cref="MlException"/> when it is not one.</summary>
    public static AttributionSummary FromJson(string json)
    {
        try
        {
            var s = JsonSerializer.Deserialize<AttributionSummary>(json, Json);
            if (s is null || s.Columns is null || s.Method is null)
                throw new MlException("bad_importance", "The importance file is empty or lacks 'method'/'columns'.");
            return s;
        }
        catch (JsonException e)
        {
            throw new MlException("bad_importance", $"The importance file is not valid JSON: {e.Message}", e);
        }
    }
}

/// <summary>How one column's share of total attribution moved between a reference and a window.</summary>
public sealed record AttributionShift(string Column, double ReferenceShare, double CurrentShare)
{
    /// <summary>Current minus reference share (−1…1).</summary>
    public double Change => CurrentShare - ReferenceShare;
}

/// <summary>
/// Attribution drift: which columns' share of total attribution moved most between the model's registration-time
/// importance and a window of served rows. Largest absolute change first; <see cref="MaxShift"/> is what the monitor's
/// <c>attribution_drift</c> retrain signal compares with its <c>share</c>.
/// </summary>
public sealed record AttributionDrift(IReadOnlyList<AttributionShift> Columns, double MaxShift, double TotalVariation)
{
    /// <summary>Compares two summaries by column name (a column missing from one side counts as share 0
    /// there).</summary>
    public static AttributionDrift Compare(AttributionSummary reference, AttributionSummary current)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        var refShare = reference.Columns.ToDictionary(c => c.Column, c => c.Share, StringComparer.Ordinal);
        var curShare = current.Columns.ToDictionary(c => c.Column, c => c.Share, StringComparer.Ordinal);
        var shifts = refShare
            .Keys.Union(curShare.Keys, StringComparer.Ordinal)
            .Select(c => new AttributionShift(c, refShare.GetValueOrDefault(c), curShare.GetValueOrDefault(c)))
            .OrderByDescending(s => Math.Abs(s.Change))
            .ThenBy(s => s.Column, StringComparer.Ordinal)
            .ToList();
        double max = shifts.Count == 0 ? 0 : Math.Abs(shifts[0].Change);
        double tv = shifts.Sum(s => Math.Abs(s.Change)) / 2;
        return new AttributionDrift(shifts, max, tv);
    }
}
