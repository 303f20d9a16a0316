using Mlops.Pipelines.Configuration;

namespace Mlops.Pipelines.Sweeps;

/// <summary>Pareto optimality over several objectives, each maximized or minimized.</summary>
public static class ParetoFront
{
    /// <summary>
    /// Indices of the points no other point dominates (at least as good in every objective, better in one), in input
    /// order. Points with a missing (NaN) value are never on the front.
    /// </summary>
    public static IReadOnlyList<int> Indices(IReadOnlyList<double[]> points, IReadOnlyList<ObjectiveConfig> objectives)
    {
        // Signed so that larger is better in every coordinate.
        var signed = points.Select(p => p.Select((v, j) => objectives[j].Goal == "min" ? -v : v).ToArray()).ToList();
        var front = new List<int>();
        for (int i = 0; i < signed.Count; i++)
        {
            if (signed[i].Any(double.IsNaN))
                continue;
            bool dominated = false;
            for (int j = 0; j < signed.Count && !dominated; j++)
                dominated = j != i && !signed[j].Any(double.IsNaN) && Dominates(signed[j], signed[i]);
            if (!dominated)
                front.Add(i);
        }
        return front;
    }

    private static bool Dominates(double[] a, double[] b)
    {
        bool strictly = false;
        for (int k = 0; k < a.Length; k++)
        {
            if (a[k] < b[k])
                return false;
            if (a[k] > b[k])
                strictly = true;
        }
        return strictly;
    }
}
