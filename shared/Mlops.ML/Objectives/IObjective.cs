namespace Mlops.ML.Objectives;

/// <summary>
/// A boosting loss as a strategy: the starting score, the per-row gradient and hessian of the loss with respect to the
/// raw score, and the summed curve loss (<see cref="Loss"/>) for learning curves and early stopping. Labels are class
/// indices (as doubles) for classification and values for regression. Scores are row-major: <c>scores[row * OutputCount
/// + k]</c>.
/// </summary>
public interface IObjective
{
    /// <summary>Stable name stored in model files (<c>binary_logloss</c>, <c>softmax</c>, <c>l2</c>, <c>l1</c>,
    /// <c>huber</c>).</summary>
    string Name { get; }

    /// <summary>Raw scores per row: 1, or the number of classes for softmax.</summary>
    int OutputCount { get; }

    /// <summary>The constant raw score(s) boosting starts from (the best constant model).</summary>
    double[] InitialScores(ReadOnlySpan<double> labels);

    /// <summary>Gradients and hessians for output <paramref name="k"/> of rows [from, to).</summary>
    void Gradients(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    );

    /// <summary>
    /// <see cref="Gradients"/> and, for <paramref name="k"/> = 0, the summed <see cref="Loss"/> of the same scores in
    /// one pass (boosting needs both every round; fusing them saves a pass over the rows).
    /// </summary>
    double GradientsAndLoss(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    )
    {
        Gradients(scores, labels, k, from, to, grad, hess);
        return k == 0 ? Loss(scores, labels, from, to) : 0;
    }

    /// <summary>
    /// Sum over rows [from, to) of the per-row term of <see cref="CurveMetric"/>: the log loss for classification, the
    /// squared error for every regression objective. For l1 and huber that is not the loss being minimized, on purpose:
    /// their learning curves, early stopping and the sweeps' pruning compare rmse, like l2's, so trials with different
    /// regression objectives stay comparable. Callers divide by the row count (and take the root for rmse).
    /// </summary>
    double Loss(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int from, int to);

    /// <summary>Name of the curve metric: <c>logloss</c> or, for regression, <c>rmse</c> (the square root is taken of
    /// the mean L2 loss).</summary>
    string CurveMetric { get; }

    /// <summary>
    /// For losses whose Newton step is poor (L1: the hessian is not informative), the best constant for a leaf's rows,
    /// replacing the Newton leaf value; null keeps the Newton value.
    /// </summary>
    double? RenewLeaf(ReadOnlySpan<int> rows, ReadOnlySpan<double> scores, ReadOnlySpan<double> labels) => null;
}

/// <summary>Creates objectives by name.</summary>
public static class Objective
{
    public static IObjective For(MlTask task, int classCount, string? regressionLoss = null, double huberDelta = 1.0) =>
        task switch
        {
            MlTask.Binary => new BinaryLogLoss(),
            MlTask.Multiclass => new SoftmaxLoss(classCount),
            _ => (regressionLoss ?? "l2") switch
            {
                "l2" => new L2Loss(),
                "l1" => new L1Loss(),
                "huber" => new HuberLoss(huberDelta),
                var other => throw new ArgumentException(
                    $"Unknown regression objective '{other}' (l2, l1 or huber).",
                    "objective"
                ),
            },
        };

    internal static double Sigmoid(double s) => 1.0 / (1.0 + Math.Exp(-s));
}

/// <summary>Binary cross-entropy on the logit.</summary>
public sealed class BinaryLogLoss : IObjective
{
    public string Name => "binary_logloss";
    public int OutputCount => 1;
    public string CurveMetric => "logloss";

    public double[] InitialScores(ReadOnlySpan<double> labels)
    {
        double pos = 0;
        foreach (var y in labels)
            pos += y;
        double p = Math.Clamp(pos / labels.Length, 1e-6, 1 - 1e-6);
        return [Math.Log(p / (1 - p))];
    }

    public void Gradients(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    )
    {
        for (int i = from; i < to; i++)
        {
            double p = Objective.Sigmoid(scores[i]);
            grad[i] = (float)(p - labels[i]);
            hess[i] = (float)Math.Max(p * (1 - p), 1e-16);
        }
    }

    public double GradientsAndLoss(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    )
    {
        double sum = 0;
        for (int i = from; i < to; i++)
        {
            double s = scores[i],
                y = labels[i];
            double e = Math.Exp(-Math.Abs(s));
            // p = sigmoid(s) and the loss log(1 + e^-margin) from one exponential.
            double p = s >= 0 ? 1 / (1 + e) : e / (1 + e);
            grad[i] = (float)(p - y);
            hess[i] = (float)Math.Max(p * (1 - p), 1e-16);
            double margin = y > 0.5 ? s : -s;
            sum += Math.Log(1 + e) + (margin < 0 ? -margin : 0);
        }
        return sum;
    }

    public double Loss(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int from, int to)
    {
        double sum = 0;
        for (int i = from; i < to; i++)
        {
            // log(1 + e^-s) for y = 1 and log(1 + e^s) for y = 0, computed stably.
            double s = labels[i] > 0.5 ? scores[i] : -scores[i];
            sum += s > 0 ? Math.Log(1 + Math.Exp(-s)) : -s + Math.Log(1 + Math.Exp(s));
        }
        return sum;
    }
}

/// <summary>Multinomial cross-entropy with one raw score per class.</summary>
public sealed class SoftmaxLoss : IObjective
{
    private readonly int _k;

    public SoftmaxLoss(int classCount)
    {
        if (classCount < 2)
            throw new ArgumentException("Softmax needs at least two classes.", nameof(classCount));
        _k = classCount;
    }

    public string Name => "softmax";
    public int OutputCount => _k;
    public string CurveMetric => "logloss";

    public double[] InitialScores(ReadOnlySpan<double> labels)
    {
        var counts = new double[_k];
        foreach (var y in labels)
            counts[(int)y]++;
        var s = new double[_k];
        for (int k = 0; k < _k; k++)
            s[k] = Math.Log(Math.Max(counts[k] / labels.Length, 1e-6));
        return s;
    }

    public void Gradients(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    )
    {
        // The K/(K-1) factor keeps the diagonal Newton step from overshooting (the full hessian is rank-deficient).
        double factor = _k / (_k - 1.0);
        for (int i = from; i < to; i++)
        {
            var row = scores.Slice(i * _k, _k);
            double max = row[0];
            for (int c = 1; c < _k; c++)
                if (row[c] > max)
                    max = row[c];
            double sum = 0;
            for (int c = 0; c < _k; c++)
                sum += Math.Exp(row[c] - max);
            double p = Math.Exp(row[k] - max) / sum;
            grad[i] = (float)(p - ((int)labels[i] == k ? 1 : 0));
            hess[i] = (float)Math.Max(factor * p * (1 - p), 1e-16);
        }
    }

    public double Loss(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int from, int to)
    {
        double total = 0;
        for (int i = from; i < to; i++)
        {
            var row = scores.Slice(i * _k, _k);
            double max = row[0];
            for (int c = 1; c < _k; c++)
                if (row[c] > max)
                    max = row[c];
            double sum = 0;
            for (int c = 0; c < _k; c++)
                sum += Math.Exp(row[c] - max);
            total += Math.Log(sum) + max - row[(int)labels[i]];
        }
        return total;
    }
}

/// <summary>Squared error (the mean prediction is the starting score).</summary>
public sealed class L2Loss : IObjective
{
    public string Name => "l2";
    public int OutputCount => 1;
    public string CurveMetric => "rmse";

    public double[] InitialScores(ReadOnlySpan<double> labels)
    {
        double s = 0;
        foreach (var y in labels)
            s += y;
        return [s / labels.Length];
    }

    public void Gradients(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    )
    {
        for (int i = from; i < to; i++)
        {
            grad[i] = (float)(scores[i] - labels[i]);
            hess[i] = 1f;
        }
    }

    /// <inheritdoc />
    public double Loss(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int from, int to) =>
        SumSquaredError(scores, labels, from, to);

    /// <summary>The label at the middle position once sorted (the upper of the two middle ones for an even
    /// count).</summary>
    internal static double[] UpperMedian(ReadOnlySpan<double> labels)
    {
        var sorted = labels.ToArray();
        Array.Sort(sorted);
        return [sorted[sorted.Length / 2]];
    }

    /// <summary>Σ (score − label)² over rows [from, to): the rmse curve's term for every regression
    /// objective.</summary>
    internal static double SumSquaredError(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int from, int to)
    {
        double s = 0;
        for (int i = from; i < to; i++)
        {
            double d = scores[i] - labels[i];
            s += d * d;
        }
        return s;
    }
}

/// <summary>Absolute error: gradient is the sign of the residual (leaf values are Newton steps with unit
/// hessian).</summary>
public sealed class L1Loss : IObjective
{
    public string Name => "l1";
    public int OutputCount => 1;
    public string CurveMetric => "rmse";

    /// <summary>The (upper) median label: the best constant under absolute error.</summary>
    public double[] InitialScores(ReadOnlySpan<double> labels) => L2Loss.UpperMedian(labels);

    public void Gradients(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    )
    {
        for (int i = from; i < to; i++)
        {
            grad[i] = Math.Sign(scores[i] - labels[i]);
            hess[i] = 1f;
        }
    }

    /// <summary>The median residual minimizes absolute error within a leaf (as LightGBM's leaf renewal does).</summary>
    public double? RenewLeaf(ReadOnlySpan<int> rows, ReadOnlySpan<double> scores, ReadOnlySpan<double> labels)
    {
        if (rows.Length == 0)
            return null;
        var r = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++)
            r[i] = labels[rows[i]] - scores[rows[i]];
        Array.Sort(r);
        return r.Length % 2 == 1 ? r[r.Length / 2] : (r[r.Length / 2 - 1] + r[r.Length / 2]) / 2;
    }

    /// <summary>Squared error, not the loss minimized here (see <see cref="IObjective.Loss"/>): the curve metric is
    /// rmse.</summary>
    public double Loss(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int from, int to) =>
        L2Loss.SumSquaredError(scores, labels, from, to);
}

/// <summary>Huber loss: squared near zero, absolute beyond <c>delta</c> (robust to outliers).</summary>
public sealed class HuberLoss : IObjective
{
    private readonly double _delta;

    public HuberLoss(double delta)
    {
        if (!(delta > 0))
            throw new ArgumentException("huber_delta must be positive.", nameof(delta));
        _delta = delta;
    }

    public string Name => "huber";
    public int OutputCount => 1;
    public string CurveMetric => "rmse";

    /// <summary>The (upper) median label: the best constant under absolute error.</summary>
    public double[] InitialScores(ReadOnlySpan<double> labels) => L2Loss.UpperMedian(labels);

    public void Gradients(
        ReadOnlySpan<double> scores,
        ReadOnlySpan<double> labels,
        int k,
        int from,
        int to,
        Span<float> grad,
        Span<float> hess
    )
    {
        for (int i = from; i < to; i++)
        {
            double r = scores[i] - labels[i];
            grad[i] = (float)(Math.Abs(r) <= _delta ? r : _delta * Math.Sign(r));
            hess[i] = 1f;
        }
    }

    /// <summary>Squared error, not the loss minimized here (see <see cref="IObjective.Loss"/>): the curve metric is
    /// rmse.</summary>
    public double Loss(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels, int from, int to) =>
        L2Loss.SumSquaredError(scores, labels, from, to);
}
