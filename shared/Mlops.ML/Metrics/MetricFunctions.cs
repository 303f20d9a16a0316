namespace Mlops.ML.Metrics;

/// <summary>Metric formulas on plain arrays, shared by the evaluator, the auto trainer and permutation
/// importance.</summary>
public static class MetricFunctions
{
    private const double Eps = 1e-15;

    /// <summary>ROC AUC by the rank-sum formula; tied scores share their average rank. NaN when one class is
    /// absent.</summary>
    public static double RocAuc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> positive)
    {
        int n = scores.Length;
        var order = Enumerable.Range(0, n).ToArray();
        var s = scores.ToArray();
        Array.Sort(s, order);
        double rankSumPos = 0;
        long pos = 0;
        int i = 0;
        while (i < n)
        {
            int j = i;
            while (j + 1 < n && s[j + 1] == s[i])
                j++;
            double avgRank = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++)
                if (positive[order[t]])
                {
                    rankSumPos += avgRank;
                    pos++;
                }
            i = j + 1;
        }
        long neg = n - pos;
        if (pos == 0 || neg == 0)
            return double.NaN;
        return (rankSumPos - pos * (pos + 1) / 2.0) / ((double)pos * neg);
    }

    /// <summary>Area under the precision-recall curve as average precision (step-wise, as scikit-learn computes
    /// it).</summary>
    public static double AveragePrecision(ReadOnlySpan<double> scores, ReadOnlySpan<bool> positive)
    {
        int n = scores.Length;
        var order = Enumerable.Range(0, n).ToArray();
        var s = scores.ToArray();
        Array.Sort(s, order);
        long totalPos = 0;
        foreach (var p in positive)
            if (p)
                totalPos++;
        if (totalPos == 0)
            return double.NaN;
        double ap = 0,
            prevRecall = 0;
        long tp = 0,
            fp = 0;
        int i = n - 1;
        while (i >= 0)
        {
            int j = i;
            while (j - 1 >= 0 && s[j - 1] == s[i])
                j--;
            for (int t = j; t <= i; t++)
                if (positive[order[t]])
                    tp++;
                else
                    fp++;
            double recall = (double)tp / totalPos,
                precision = (double)tp / (tp + fp);
            ap += (recall - prevRecall) * precision;
            prevRecall = recall;
            i = j - 1;
        }
        return ap;
    }

    /// <summary>Mean negative log-likelihood of the true class; probabilities are clipped to [1e-15, 1].</summary>
    public static double LogLoss(ReadOnlySpan<double> probabilities, int classCount, ReadOnlySpan<int> actual)
    {
        double s = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double p = actual[i] < 0 ? Eps : probabilities[i * classCount + actual[i]];
            s -= Math.Log(Math.Clamp(p, Eps, 1));
        }
        return s / actual.Length;
    }

    public static double Rmse(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++)
            s += (y[i] - p[i]) * (y[i] - p[i]);
        return Math.Sqrt(s / y.Length);
    }

    public static double Mae(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++)
            s += Math.Abs(y[i] - p[i]);
        return s / y.Length;
    }

    public static double R2(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        double mean = 0;
        foreach (var v in y)
            mean += v;
        mean /= y.Length;
        double ssRes = 0,
            ssTot = 0;
        for (int i = 0; i < y.Length; i++)
        {
            ssRes += (y[i] - p[i]) * (y[i] - p[i]);
            ssTot += (y[i] - mean) * (y[i] - mean);
        }
        return ssTot == 0 ? (ssRes == 0 ? 1 : 0) : 1 - ssRes / ssTot;
    }

    /// <summary>Mean absolute percentage error (as a fraction), skipping rows whose true value is 0.</summary>
    public static double Mape(ReadOnlySpan<double> y, ReadOnlySpan<double> p)
    {
        double s = 0;
        int n = 0;
        for (int i = 0; i < y.Length; i++)
            if (y[i] != 0)
            {
                s += Math.Abs((y[i] - p[i]) / y[i]);
                n++;
            }
        return n == 0 ? double.NaN : s / n;
    }
}
