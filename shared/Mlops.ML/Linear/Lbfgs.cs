namespace Mlops.ML.Linear;

/// <summary>
/// Limited-memory BFGS with a backtracking (Armijo) line search, for smooth convex objectives such as L2-regularized
/// logistic regression. Deterministic: no randomness, and the objective callback is expected to reduce in a fixed
/// order.
/// </summary>
internal static class Lbfgs
{
    /// <summary>Evaluates the objective at x, writes its gradient, returns its value.</summary>
    public delegate double Objective(ReadOnlySpan<double> x, Span<double> gradient);

    public static (double Value, int Iterations) Minimize(
        Objective fn,
        double[] x,
        int memory,
        int maxIterations,
        double tolerance,
        Action<int, double>? onIteration = null,
        CancellationToken ct = default
    )
    {
        int n = x.Length;
        var g = new double[n];
        var gNew = new double[n];
        var xNew = new double[n];
        var d = new double[n];
        var s = new List<double[]>();
        var y = new List<double[]>();
        var rho = new List<double>();
        var alpha = new double[memory];
        double f = fn(x, g);
        int iter = 0;
        for (; iter < maxIterations; iter++)
        {
            ct.ThrowIfCancellationRequested();
            if (MaxAbs(g) < tolerance)
                break;
            // Two-loop recursion: d = -H·g.
            Array.Copy(g, d, n);
            for (int i = s.Count - 1; i >= 0; i--)
            {
                alpha[i] = rho[i] * Dot(s[i], d);
                Axpy(-alpha[i], y[i], d);
            }
            if (s.Count > 0)
            {
                double gamma = Dot(s[^1], y[^1]) / Dot(y[^1], y[^1]);
                for (int j = 0; j < n; j++)
                    d[j] *= gamma;
            }
            for (int i = 0; i < s.Count; i++)
            {
                double beta = rho[i] * Dot(y[i], d);
                Axpy(alpha[i] - beta, s[i], d);
            }
            for (int j = 0; j < n; j++)
                d[j] = -d[j];
            double slope = Dot(g, d);
            if (slope >= 0)
            {
                for (int j = 0; j < n; j++)
                    d[j] = -g[j];
                slope = Dot(g, d);
                s.Clear();
                y.Clear();
                rho.Clear();
            }
            double step = s.Count == 0 ? Math.Min(1.0, 1.0 / Math.Sqrt(-slope)) : 1.0;
            double fNew = double.NaN;
            bool accepted = false;
            for (int ls = 0; ls < 50; ls++)
            {
                for (int j = 0; j < n; j++)
                    xNew[j] = x[j] + step * d[j];
                fNew = fn(xNew, gNew);
                if (fNew <= f + 1e-4 * step * slope)
                {
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if (!accepted)
                break; // no further progress possible in floating point
            var sk = new double[n];
            var yk = new double[n];
            for (int j = 0; j < n; j++)
            {
                sk[j] = xNew[j] - x[j];
                yk[j] = gNew[j] - g[j];
            }
            double sy = Dot(sk, yk);
            if (sy > 1e-12)
            {
                if (s.Count == memory)
                {
                    s.RemoveAt(0);
                    y.RemoveAt(0);
                    rho.RemoveAt(0);
                }
                s.Add(sk);
                y.Add(yk);
                rho.Add(1.0 / sy);
            }
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            double fOld = f;
            f = fNew;
            onIteration?.Invoke(iter + 1, f);
            if (Math.Abs(fOld - f) <= 1e-14 * Math.Max(1, Math.Abs(f)))
            {
                iter++;
                break;
            }
        }
        return (f, iter);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += a[i] * b[i];
        return s;
    }

    private static void Axpy(double a, double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] += a * x[i];
    }

    private static double MaxAbs(double[] a)
    {
        double m = 0;
        foreach (var v in a)
            m = Math.Max(m, Math.Abs(v));
        return m;
    }
}
