namespace Mlops.ML.MlNet;

/// <summary>
/// Platt scaling: fits P(positive | score) = sigmoid(slope · score + offset) by Newton's method on the log loss, with
/// Platt's smoothed targets ((n₊ + 1) / (n₊ + 2) and 1 / (n₋ + 2)) so perfectly separated scores do not push the slope
/// to infinity.
/// </summary>
internal static class PlattScaling
{
    public static (double Slope, double Offset) Fit(ReadOnlySpan<double> scores, ReadOnlySpan<double> labels)
    {
        int n = scores.Length;
        double positives = 0;
        foreach (var y in labels)
            positives += y > 0.5 ? 1 : 0;
        double hi = (positives + 1) / (positives + 2),
            lo = 1 / (n - positives + 2);
        double a = 1,
            b = 0;
        for (int iteration = 0; iteration < 50; iteration++)
        {
            double ga = 0,
                gb = 0,
                haa = 1e-9,
                hab = 0,
                hbb = 1e-9;
            for (int i = 0; i < n; i++)
            {
                double t = labels[i] > 0.5 ? hi : lo;
                double p = 1 / (1 + Math.Exp(-(a * scores[i] + b)));
                double d = p - t,
                    w = Math.Max(p * (1 - p), 1e-12);
                ga += d * scores[i];
                gb += d;
                haa += w * scores[i] * scores[i];
                hab += w * scores[i];
                hbb += w;
            }
            double det = haa * hbb - hab * hab;
            if (!(Math.Abs(det) > 1e-300))
                break;
            double da = (hbb * ga - hab * gb) / det,
                db = (haa * gb - hab * ga) / det;
            a -= da;
            b -= db;
            if (Math.Abs(da) < 1e-10 && Math.Abs(db) < 1e-10)
                break;
        }
        return (a, b);
    }
}
