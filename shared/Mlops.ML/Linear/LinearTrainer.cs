using MathNet.Numerics.LinearAlgebra;
using Mlops.ML.Featurization;
using Mlops.ML.Training;

namespace Mlops.ML.Linear;

/// <summary>What <see cref="LinearTrainer.Train"/> returns.</summary>
public sealed record LinearTrainingOutput(LinearModel Model, IReadOnlyList<RoundMetrics> Curve, int Iterations);

/// <summary>
/// Logistic regression (binary, or multinomial softmax for 3+ classes) fitted with L-BFGS, and ridge regression solved
/// in closed form (normal equations, Cholesky via MathNet). Inputs are median-imputed and standardized with training
/// statistics stored in the model, so serving applies exactly the same transform.
/// </summary>
public static class LinearTrainer
{
    private const int Block = 8192;

    public static LinearTrainingOutput Train(
        Featurizer featurizer,
        BoundTable table,
        double[] labels,
        MlTask task,
        int classCount,
        LinearOptions options,
        IProgress<TrainingProgress>? progress = null,
        string stage = "linear",
        CancellationToken cancellationToken = default
    )
    {
        options.Validate();
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        int n = table.RowCount,
            f = featurizer.FeatureCount;
        var terms = new LinearTerm[f];
        var columns = new float[f][];
        int width = 0;
        Parallel.For(0, f, parallel, j =>
        {
            var col = new float[n];
            featurizer.FillFeature(table, j, col);
            columns[j] = col;
        });
        for (int j = 0; j < f; j++)
        {
            var def = featurizer.Features[j];
            if (def.IsCategorical)
            {
                terms[j] = new LinearTerm(j, width, def.CategoryCount + 1, true, 0, 0, 1);
                width += def.CategoryCount + 1;
                continue;
            }
            var col = columns[j];
            var present = col.Where(v => !float.IsNaN(v)).ToArray();
            Array.Sort(present);
            double median =
                present.Length == 0 ? 0
                : present.Length % 2 == 1 ? present[present.Length / 2]
                : ((double)present[present.Length / 2 - 1] + present[present.Length / 2]) / 2;
            double mean = 0,
                sq = 0;
            for (int i = 0; i < n; i++)
                mean += float.IsNaN(col[i]) ? median : col[i];
            mean /= n;
            for (int i = 0; i < n; i++)
            {
                double d = (float.IsNaN(col[i]) ? median : col[i]) - mean;
                sq += d * d;
            }
            double sd = Math.Sqrt(sq / n);
            terms[j] = new LinearTerm(j, width, 1, false, median, mean, sd > 1e-12 ? sd : 1.0);
            width++;
        }
        // Dense design matrix (row-major); n × width doubles.
        var x = new double[(long)n * width];
        Parallel.For(0, f, parallel, j =>
        {
            var t = terms[j];
            var col = columns[j];
            for (int i = 0; i < n; i++)
            {
                if (t.Categorical)
                {
                    if (!float.IsNaN(col[i]))
                        x[(long)i * width + t.Offset + Math.Clamp((int)col[i], 0, t.Slots - 1)] = 1;
                }
                else
                    x[(long)i * width + t.Offset] = LinearModel.Standardize(t, col[i]);
            }
        });
        columns = null!;
        var output =
            task == MlTask.Regression
                ? Ridge(x, labels, n, width, f, terms, options, parallel, progress, stage)
                : Logistic(
                    x,
                    labels,
                    n,
                    width,
                    f,
                    terms,
                    task == MlTask.Binary ? 1 : classCount,
                    options,
                    parallel,
                    progress,
                    stage,
                    cancellationToken
                );
        // The design's column means are the reference point of the model's exact attributions
        // (Explain/LinearAttribution).
        return output with { Model = output.Model.WithSlotMeans(ColumnMeans(x, n, width)) };
    }

    private static double[] ColumnMeans(double[] x, int n, int width)
    {
        var means = new double[width];
        if (n == 0)
            return means;
        for (long i = 0; i < n; i++)
        {
            long row = i * width;
            for (int j = 0; j < width; j++)
                means[j] += x[row + j];
        }
        for (int j = 0; j < width; j++)
            means[j] /= n;
        return means;
    }

    private static LinearTrainingOutput Ridge(
        double[] x,
        double[] y,
        int n,
        int d,
        int f,
        LinearTerm[] terms,
        LinearOptions o,
        ParallelOptions parallel,
        IProgress<TrainingProgress>? progress,
        string stage
    )
    {
        // Center X and y so the unpenalized intercept drops out: (XcᵀXc + αI) w = Xcᵀyc, b = ȳ − x̄ᵀw.
        var xm = new double[d];
        double ym = 0;
        for (int i = 0; i < n; i++)
        {
            ym += y[i];
            for (int j = 0; j < d; j++)
                xm[j] += x[(long)i * d + j];
        }
        ym /= n;
        for (int j = 0; j < d; j++)
            xm[j] /= n;
        int blocks = (n + Block - 1) / Block;
        var partA = new double[blocks][];
        var partB = new double[blocks][];
        Parallel.For(0, blocks, parallel, b =>
        {
            var a = new double[d * d];
            var v = new double[d];
            var row = new double[d];
            for (int i = b * Block; i < Math.Min(n, (b + 1) * Block); i++)
            {
                for (int j = 0; j < d; j++)
                    row[j] = x[(long)i * d + j] - xm[j];
                double yc = y[i] - ym;
                for (int j = 0; j < d; j++)
                {
                    v[j] += row[j] * yc;
                    double rj = row[j];
                    if (rj == 0)
                        continue;
                    for (int l = j; l < d; l++)
                        a[j * d + l] += rj * row[l];
                }
            }
            partA[b] = a;
            partB[b] = v;
        });
        var A = Matrix<double>.Build.Dense(d, d);
        var B = Vector<double>.Build.Dense(d);
        for (int b = 0; b < blocks; b++)
        for (int j = 0; j < d; j++)
        {
            B[j] += partB[b][j];
            for (int l = j; l < d; l++)
                A[j, l] += partA[b][j * d + l];
        }
        for (int j = 0; j < d; j++)
        {
            for (int l = 0; l < j; l++)
                A[j, l] = A[l, j];
            A[j, j] += Math.Max(o.L2, 1e-10);
        }
        var w = A.Cholesky().Solve(B).ToArray();
        double intercept = ym;
        for (int j = 0; j < d; j++)
            intercept -= xm[j] * w[j];
        double sse = 0;
        for (int i = 0; i < n; i++)
        {
            double p = intercept;
            for (int j = 0; j < d; j++)
                p += w[j] * x[(long)i * d + j];
            sse += (p - y[i]) * (p - y[i]);
        }
        double rmse = Math.Sqrt(sse / n);
        progress?.Report(new TrainingProgress(stage, 1, 1, rmse, null));
        return new LinearTrainingOutput(
            new LinearModel(1, f, terms, w, [intercept]),
            [new RoundMetrics(1, rmse, null)],
            1
        );
    }

    private static LinearTrainingOutput Logistic(
        double[] x,
        double[] y,
        int n,
        int d,
        int f,
        LinearTerm[] terms,
        int k,
        LinearOptions o,
        ParallelOptions parallel,
        IProgress<TrainingProgress>? progress,
        string stage,
        CancellationToken ct
    )
    {
        int p = k * (d + 1); // weights (k × d) then intercepts (k)
        int blocks = (n + Block - 1) / Block;
        var partialGrad = new double[blocks][];
        var partialLoss = new double[blocks];
        double penalty = o.L2;
        double Objective(ReadOnlySpan<double> thetaSpan, Span<double> grad)
        {
            var theta = thetaSpan.ToArray();
            Parallel.For(0, blocks, parallel, b =>
            {
                var g = partialGrad[b] ??= new double[p];
                Array.Clear(g);
                Span<double> z = stackalloc double[k];
                double loss = 0;
                for (int i = b * Block; i < Math.Min(n, (b + 1) * Block); i++)
                {
                    long ro = (long)i * d;
                    for (int c = 0; c < k; c++)
                    {
                        double s = theta[k * d + c];
                        int wo = c * d;
                        for (int j = 0; j < d; j++)
                            s += theta[wo + j] * x[ro + j];
                        z[c] = s;
                    }
                    if (k == 1)
                    {
                        double yi = y[i];
                        double m = yi > 0.5 ? z[0] : -z[0];
                        loss += m > 0 ? Math.Log(1 + Math.Exp(-m)) : -m + Math.Log(1 + Math.Exp(m));
                        double err = 1.0 / (1.0 + Math.Exp(-z[0])) - yi;
                        for (int j = 0; j < d; j++)
                            g[j] += err * x[ro + j];
                        g[d] += err;
                    }
                    else
                    {
                        double max = z[0];
                        for (int c = 1; c < k; c++)
                            max = Math.Max(max, z[c]);
                        double sum = 0;
                        for (int c = 0; c < k; c++)
                            sum += Math.Exp(z[c] - max);
                        int yc = (int)y[i];
                        loss += Math.Log(sum) + max - z[yc];
                        for (int c = 0; c < k; c++)
                        {
                            double err = Math.Exp(z[c] - max) / sum - (c == yc ? 1 : 0);
                            int wo = c * d;
                            for (int j = 0; j < d; j++)
                                g[wo + j] += err * x[ro + j];
                            g[k * d + c] += err;
                        }
                    }
                }
                partialLoss[b] = loss;
            });
            grad.Clear();
            double total = 0;
            for (int b = 0; b < blocks; b++)
            {
                total += partialLoss[b];
                var g = partialGrad[b];
                for (int j = 0; j < p; j++)
                    grad[j] += g[j];
            }
            double reg = 0;
            for (int j = 0; j < k * d; j++)
            {
                reg += theta[j] * theta[j];
                grad[j] += penalty * theta[j];
            }
            total += 0.5 * penalty * reg;
            for (int j = 0; j < p; j++)
                grad[j] /= n;
            return total / n;
        }
        var curve = new List<RoundMetrics>();
        var theta0 = new double[p];
        var (value, iterations) = Lbfgs.Minimize(
            Objective,
            theta0,
            o.LbfgsMemory,
            o.MaxIterations,
            o.Tolerance,
            (it, fv) =>
            {
                curve.Add(new RoundMetrics(it, fv, null));
                progress?.Report(new TrainingProgress(stage, it, o.MaxIterations, fv, null));
            },
            ct
        );
        var weights = theta0.AsSpan(0, k * d).ToArray();
        var intercepts = theta0.AsSpan(k * d, k).ToArray();
        return new LinearTrainingOutput(new LinearModel(k, f, terms, weights, intercepts), curve, iterations);
    }
}
