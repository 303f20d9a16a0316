using Mlops.Data.Tabular;
using Mlops.ML.Metrics;
using Mlops.ML.Models;

namespace Mlops.ML.Importance;

/// <summary>Importance of one input column by permutation: how much the primary metric worsens when the column is
/// shuffled.</summary>
/// <param name="Column">Input column.</param>
/// <param name="Drop">Mean worsening of the primary metric (positive = the model relies on the column).</param>
/// <param name="StdDev">Spread over repeats.</param>
public sealed record PermutationResult(string Column, double Drop, double StdDev);

/// <summary>
/// Model-agnostic permutation importance (Breiman): shuffle one column of labelled data at a time with a seeded
/// generator, re-evaluate, and report the drop of the task's primary metric (auc, accuracy or rmse). Works for any <see
/// cref="Model"/>.
/// </summary>
public static class PermutationImportance
{
    public static IReadOnlyList<PermutationResult> Compute(
        Model model,
        DataTable data,
        int repeats = 3,
        int seed = 42,
        int maxRows = 20_000
    )
    {
        if (repeats < 1)
            throw new ArgumentException("repeats must be at least 1.", nameof(repeats));
        if (data.RowCount > maxRows)
        {
            var rng0 = new Random(seed);
            data = data.SelectRows(
                Enumerable.Range(0, data.RowCount).OrderBy(_ => rng0.Next()).Take(maxRows).Order().ToArray()
            );
        }
        var baseline = Evaluator.Evaluate(model, data);
        double sign = baseline.HigherIsBetter ? 1 : -1;
        var results = new List<PermutationResult>();
        var rng = new Random(seed);
        foreach (var input in model.InputSchema.Where(c => c.Used))
        {
            var col = data.Find(input.Name);
            if (col is null)
                continue;
            var drops = new double[repeats];
            for (int r = 0; r < repeats; r++)
            {
                var perm = Enumerable.Range(0, data.RowCount).OrderBy(_ => rng.Next()).ToArray();
                var shuffled = new Column(
                    col.Name,
                    col.Kind,
                    col.Numbers is null ? null : perm.Select(i => col.Numbers[i]).ToArray(),
                    col.Strings is null ? null : perm.Select(i => col.Strings[i]).ToArray()
                );
                var table = new DataTable(data.Columns.Select(c => c.Name == col.Name ? shuffled : c).ToList());
                drops[r] = sign * (baseline.Primary - Evaluator.Evaluate(model, table).Primary);
            }
            double mean = drops.Average();
            double sd = Math.Sqrt(drops.Sum(d => (d - mean) * (d - mean)) / repeats);
            results.Add(new PermutationResult(input.Name, mean, sd));
        }
        return results.OrderByDescending(r => r.Drop).ToList();
    }
}
