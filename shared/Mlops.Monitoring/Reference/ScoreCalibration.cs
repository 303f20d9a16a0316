namespace Mlops.Monitoring.Reference;

/// <summary>
/// A monotone map from a model score to a probability, fitted by isotonic regression (pool-adjacent-violators) on
/// reference scores and their outcomes, and stored as at most <see cref="MaxKnots"/> knots interpolated linearly.
/// CBPE needs calibrated probabilities: a raw GBDT score of 0.9 need not mean "right 90% of the time".
/// </summary>
/// <param name="Scores">Knot positions, ascending.</param>
/// <param name="Probabilities">Calibrated probability at each knot, non-decreasing.</param>
public sealed record ScoreCalibration(double[] Scores, double[] Probabilities)
{
    /// <summary>Largest number of stored knots.</summary>
    public const int MaxKnots = 200;

    /// <summary>Calibrated probability of <paramref name="score"/> (clamped to the end knots outside their
    /// range).</summary>
    public double Apply(double score)
    {
        var xs = Scores;
        if (xs.Length == 0 || double.IsNaN(score))
            return score;
        if (score <= xs[0])
            return Probabilities[0];
        if (score >= xs[^1])
            return Probabilities[^1];
        int hi = Array.BinarySearch(xs, score);
        if (hi >= 0)
            return Probabilities[hi];
        hi = ~hi;
        int lo = hi - 1;
        double t = (score - xs[lo]) / (xs[hi] - xs[lo]);
        return Probabilities[lo] + t * (Probabilities[hi] - Probabilities[lo]);
    }

    /// <summary>
    /// Fits the isotonic map of outcome (0/1) on score. Each pooled block becomes a knot at its mean score, so the
    /// piecewise-linear map passes through the block means; blocks are merged evenly by weight down to
    /// <see cref="MaxKnots"/>. Returns null with fewer than 2 distinct scores or a single outcome.
    /// </summary>
    public static ScoreCalibration? Fit(ReadOnlySpan<double> scores, ReadOnlySpan<bool> outcomes)
    {
        int n = scores.Length;
        var order = new int[n];
        var keys = new double[n];
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!double.IsNaN(scores[i]))
            {
                keys[m] = scores[i];
                order[m++] = i;
            }
        if (m < 2)
            return null;
        Array.Sort(keys, order, 0, m);
        // Blocks as (sum of scores, sum of outcomes, weight); a violating neighbour is pooled into the previous block.
        var sx = new List<double>();
        var sy = new List<double>();
        var w = new List<double>();
        int positives = 0;
        for (int k = 0; k < m; k++)
        {
            double y = outcomes[order[k]] ? 1 : 0;
            positives += (int)y;
            sx.Add(keys[k]);
            sy.Add(y);
            w.Add(1);
            while (sx.Count > 1 && sy[^2] / w[^2] >= sy[^1] / w[^1])
            {
                int last = sx.Count - 1;
                sx[last - 1] += sx[last];
                sy[last - 1] += sy[last];
                w[last - 1] += w[last];
                sx.RemoveAt(last);
                sy.RemoveAt(last);
                w.RemoveAt(last);
            }
        }
        if (positives == 0 || positives == m)
            return null;
        // Merge into at most MaxKnots groups of about equal weight.
        double total = m,
            perKnot = total / MaxKnots,
            acc = 0,
            gx = 0,
            gy = 0,
            gw = 0;
        var xs = new List<double>();
        var ps = new List<double>();
        for (int b = 0; b < sx.Count; b++)
        {
            gx += sx[b];
            gy += sy[b];
            gw += w[b];
            acc += w[b];
            if (gw >= perKnot || b == sx.Count - 1)
            {
                double x = gx / gw;
                if (xs.Count == 0 || x > xs[^1])
                {
                    xs.Add(x);
                    ps.Add(gy / gw);
                }
                else
                    ps[^1] = Math.Max(ps[^1], gy / gw);
                gx = gy = gw = 0;
            }
        }
        return xs.Count < 2 ? null : new ScoreCalibration(xs.ToArray(), ps.ToArray());
    }
}
