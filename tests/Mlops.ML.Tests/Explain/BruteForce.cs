using Mlops.ML.Gbdt;
using Mlops.ML.Linear;

namespace Mlops.ML.Tests.Explain;

/// <summary>
/// Shapley values straight from the definition: φ_i = Σ over subsets S of the other features of
/// |S|!(M−|S|−1)!/M! · (v(S ∪ {i}) − v(S)), enumerating all 2^M subsets. Written independently of the library's
/// polynomial algorithms; only the value functions' definitions are shared.
/// </summary>
internal static class BruteForce
{
    public sealed record Result(double[] Phi, double[] Base);

    /// <summary>
    /// Path-dependent value of a tree for the features in <paramref name="known"/> (a bit mask): a known feature
    /// follows the row; an unknown one sends the row down both sides, weighted by the training rows each side received
    /// (half each when neither received any).
    /// </summary>
    public static double TreeValue(RegressionTree tree, float[] x, long known, int child = 0)
    {
        if (tree.NodeCount == 0)
            return tree.LeafValue[0];
        if (child < 0)
            return tree.LeafValue[~child];
        int feature = tree.Feature[child];
        if ((known & (1L << feature)) != 0)
        {
            float v = x[feature];
            bool left = float.IsNaN(v) ? tree.DefaultLeft[child] : v <= tree.Threshold[child];
            return TreeValue(tree, x, known, left ? tree.Left[child] : tree.Right[child]);
        }
        double l = Cover(tree, tree.Left[child]),
            r = Cover(tree, tree.Right[child]);
        double wl = l + r > 0 ? l / (l + r) : 0.5;
        return wl * TreeValue(tree, x, known, tree.Left[child])
            + (1 - wl) * TreeValue(tree, x, known, tree.Right[child]);
    }

    private static double Cover(RegressionTree tree, int child) =>
        child >= 0 ? tree.Cover![child] : tree.LeafCover![~child];

    public static Result TreeShapley(GbdtEnsemble ensemble, float[] x)
    {
        int k = ensemble.OutputCount;
        return Shapley(x.Length, k, (known, output) =>
        {
            double s = ensemble.InitialScores[output];
            foreach (var t in ensemble.Trees)
                if (t.Class == output)
                    s += TreeValue(t, x, known);
            return s;
        });
    }

    /// <summary>
    /// Linear value function: features in the mask take the row's expanded values, the others their training means
    /// (the slot means): the score of a mixed point.
    /// </summary>
    public static Result LinearShapley(LinearModel model, float[] x)
    {
        var means = model.SlotMeans!;
        return Shapley(x.Length, model.OutputCount, (known, output) =>
        {
            double s = model.Intercepts[output];
            foreach (var t in model.Terms)
            {
                for (int slot = 0; slot < t.Slots; slot++)
                {
                    double z;
                    if ((known & (1L << t.Feature)) == 0)
                        z = means[t.Offset + slot];
                    else if (!t.Categorical)
                        z = ((float.IsNaN(x[t.Feature]) ? t.Impute : x[t.Feature]) - t.Mean) / t.Scale;
                    else
                        z = !float.IsNaN(x[t.Feature]) && Math.Clamp((int)x[t.Feature], 0, t.Slots - 1) == slot ? 1 : 0;
                    s += model.Weights[output * model.Width + t.Offset + slot] * z;
                }
            }
            return s;
        });
    }

    private static Result Shapley(int m, int outputs, Func<long, int, double> value)
    {
        var phi = new double[outputs * m];
        var baseValues = new double[outputs];
        var factorial = new double[m + 1];
        factorial[0] = 1;
        for (int i = 1; i <= m; i++)
            factorial[i] = factorial[i - 1] * i;
        for (int o = 0; o < outputs; o++)
        {
            baseValues[o] = value(0, o);
            var v = new double[1L << m];
            for (long s = 0; s < v.Length; s++)
                v[s] = value(s, o);
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (long s = 0; s < v.Length; s++)
                {
                    if ((s & (1L << i)) != 0)
                        continue;
                    int size = System.Numerics.BitOperations.PopCount((ulong)s);
                    sum += factorial[size] * factorial[m - size - 1] / factorial[m] * (v[s | (1L << i)] - v[s]);
                }
                phi[o * m + i] = sum;
            }
        }
        return new Result(phi, baseValues);
    }
}
