namespace Mlops.Pipelines.Sweeps;

/// <summary>A finished trial as the sampler sees it: its point in the search space and its loss (lower is
/// better).</summary>
/// <param name="Pruned">Stopped early: ranked after every completed trial, whatever its loss.</param>
public sealed record Observation(double[] Point, double Loss, bool Pruned = false);

/// <summary>Settings of the tree-structured Parzen estimator.</summary>
/// <param name="StartupTrials">Trials drawn uniformly before the estimator has anything to learn from.</param>
/// <param name="Gamma">Share of observations (at most <see cref="MaxGood"/>) forming the "good" density l(x).</param>
/// <param name="Candidates">Draws from l(x) per proposal; the one with the largest l(x)/g(x) is proposed.</param>
public sealed record TpeSettings(int StartupTrials = 10, double Gamma = 0.25, int Candidates = 24)
{
    public const int MaxGood = 25;

    /// <summary>Weight of the uniform-like prior component in each density (one observation's worth).</summary>
    public const double PriorWeight = 1.0;
}

/// <summary>
/// Tree-structured Parzen estimator (Bergstra et al. 2011), multivariate form: the observations are split by loss into
/// a good group and the rest; each group becomes a mixture with one kernel per observation (a truncated Gaussian per
/// range dimension, a peaked distribution per list) plus a broad prior; candidates drawn from the good mixture are
/// scored by log l(x) − log g(x). Kernels are whole points, not per-dimension, so interactions between parameters
/// survive (Optuna's <c>multivariate=True</c>).
/// <para>
/// Deterministic: a proposal depends only on the seed, the trial's index and the observations, because the orchestrator
/// that calls it is replayed. A batch of proposals uses the "constant liar": each proposal of the batch joins the
/// observations as a worst-ranked point, which pushes the next one elsewhere.
/// </para>
/// </summary>
public static class TpeSampler
{
    /// <summary>Proposes <paramref name="count"/> points for trials <paramref name="firstTrialIndex"/>, … of the
    /// sweep.</summary>
    public static IReadOnlyList<double[]> Propose(
        SearchSpace space,
        IReadOnlyList<Observation> history,
        int count,
        int seed,
        int firstTrialIndex,
        TpeSettings settings
    )
    {
        var known = history.ToList();
        var proposals = new List<double[]>();
        for (int b = 0; b < count; b++)
        {
            int trialIndex = firstTrialIndex + b;
            var random = new Random(unchecked(seed * 1_000_003 + trialIndex * 7_919 + 17));
            bool learn =
                trialIndex >= settings.StartupTrials && known.Count(o => !double.IsPositiveInfinity(o.Loss)) >= 2;
            var point =
                learn ? Sample(space.Dimensions, known, random, settings)
                : trialIndex < settings.StartupTrials
                    ? LatinHypercube(space.Dimensions, trialIndex, settings.StartupTrials, seed, random)
                : space.DrawInternal(random);
            proposals.Add(point);
            known.Add(new Observation(point, double.PositiveInfinity, Pruned: true));
        }
        return proposals;
    }

    /// <summary>
    /// Startup trial <paramref name="index"/> of <paramref name="count"/>: each dimension is cut into <paramref
    /// name="count"/> strata and every stratum is used once (a seeded permutation per dimension), so a few startup
    /// trials still cover every range end to end, which independent uniform draws often fail to do.
    /// </summary>
    private static double[] LatinHypercube(
        IReadOnlyList<SearchDimension> dims,
        int index,
        int count,
        int seed,
        Random random
    )
    {
        var point = new double[dims.Count];
        for (int d = 0; d < dims.Count; d++)
        {
            var strata = Enumerable.Range(0, count).ToArray();
            new Random(unchecked(seed * 31 + d * 1_009 + 5)).Shuffle(strata);
            double u = (strata[index] + random.NextDouble()) / count;
            var dim = dims[d];
            point[d] =
                dim.IsCategorical ? Math.Min((int)(u * dim.Categories!.Count), dim.Categories.Count - 1)
                : dim.IsRange ? dim.Low + u * (dim.High - dim.Low)
                : 0;
        }
        return point;
    }

    private static double[] Sample(
        IReadOnlyList<SearchDimension> dims,
        List<Observation> observations,
        Random random,
        TpeSettings settings
    )
    {
        var ranked = observations.OrderBy(o => o.Pruned).ThenBy(o => o.Loss).ToList();
        int good = Math.Clamp(
            (int)Math.Ceiling(settings.Gamma * ranked.Count),
            1,
            Math.Min(TpeSettings.MaxGood, ranked.Count - 1)
        );
        var below = new ParzenMixture(dims, ranked.Take(good).Select(o => o.Point).ToList());
        var above = new ParzenMixture(dims, ranked.Skip(good).Select(o => o.Point).ToList());
        double[]? best = null;
        double bestScore = double.NegativeInfinity;
        for (int c = 0; c < settings.Candidates; c++)
        {
            var candidate = below.Draw(random);
            double score = below.LogDensity(candidate) - above.LogDensity(candidate);
            if (score > bestScore)
            {
                bestScore = score;
                best = candidate;
            }
        }
        return best!;
    }

    /// <summary>A mixture with one kernel per observed point and a broad prior kernel, over all dimensions at
    /// once.</summary>
    private sealed class ParzenMixture
    {
        private readonly IReadOnlyList<SearchDimension> dims;
        private readonly List<double[]> centers;
        private readonly double[] sigma;

        public ParzenMixture(IReadOnlyList<SearchDimension> dims, List<double[]> points)
        {
            this.dims = dims;
            centers = points;
            // Scott's rule for a d-dimensional kernel density, as a share of each range's width.
            int ranges = Math.Max(1, dims.Count(d => d.IsRange));
            double share = 0.2 * Math.Pow(Math.Max(points.Count, 1), -1.0 / (ranges + 4));
            sigma = dims.Select(d => Math.Max((d.High - d.Low) * share, 1e-12)).ToArray();
        }

        /// <summary>Index <see cref="centers"/>.Count is the prior kernel.</summary>
        private double ComponentWeight(int component) => component == centers.Count ? TpeSettings.PriorWeight : 1.0;

        public double[] Draw(Random random)
        {
            double total = centers.Count + TpeSettings.PriorWeight,
                u = random.NextDouble() * total;
            int component = 0;
            while (component < centers.Count && (u -= ComponentWeight(component)) > 0)
                component++;
            var point = new double[dims.Count];
            for (int d = 0; d < dims.Count; d++)
            {
                var dim = dims[d];
                if (dim.IsCategorical)
                    point[d] = DrawCategory(dim, component, d, random);
                else if (dim.IsRange)
                    point[d] = DrawTruncatedNormal(
                        Center(component, d),
                        Width(component, d),
                        dim.Low,
                        dim.High,
                        random
                    );
            }
            return point;
        }

        public double LogDensity(double[] x)
        {
            double total = centers.Count + TpeSettings.PriorWeight;
            var terms = new double[centers.Count + 1];
            for (int component = 0; component <= centers.Count; component++)
            {
                double log = Math.Log(ComponentWeight(component) / total);
                for (int d = 0; d < dims.Count; d++)
                {
                    var dim = dims[d];
                    if (dim.IsCategorical)
                        log += Math.Log(CategoryProbability(dim, component, d, (int)x[d]));
                    else if (dim.IsRange && dim.High > dim.Low)
                        log += LogTruncatedNormal(x[d], Center(component, d), Width(component, d), dim.Low, dim.High);
                }
                terms[component] = log;
            }
            double max = terms.Max();
            return max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
        }

        private double Center(int component, int d) =>
            component == centers.Count ? (dims[d].Low + dims[d].High) / 2 : centers[component][d];

        private double Width(int component, int d) =>
            component == centers.Count ? Math.Max(dims[d].High - dims[d].Low, 1e-12) : sigma[d];

        /// <summary>An observation's kernel puts half its mass (with one prior weight) on its own category; the prior
        /// is uniform.</summary>
        private double CategoryProbability(SearchDimension dim, int component, int d, int category)
        {
            int k = dim.Categories!.Count;
            if (component == centers.Count)
                return 1.0 / k;
            double own = (int)centers[component][d] == category ? 1 : 0;
            return (own + TpeSettings.PriorWeight / k) / (1 + TpeSettings.PriorWeight);
        }

        private double DrawCategory(SearchDimension dim, int component, int d, Random random)
        {
            double u = random.NextDouble();
            int k = dim.Categories!.Count;
            for (int c = 0; c < k - 1; c++)
                if ((u -= CategoryProbability(dim, component, d, c)) < 0)
                    return c;
            return k - 1;
        }
    }

    private static double DrawTruncatedNormal(double mean, double sd, double low, double high, Random random)
    {
        if (high <= low)
            return low;
        for (int attempt = 0; attempt < 32; attempt++)
        {
            // Box–Muller from the seeded generator (System.Random has no normal draw of its own).
            double u1 = 1.0 - random.NextDouble(),
                u2 = random.NextDouble();
            double x = mean + sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            if (x >= low && x <= high)
                return x;
        }
        return Math.Clamp(mean, low, high);
    }

    private static double LogTruncatedNormal(double x, double mean, double sd, double low, double high)
    {
        double z = (x - mean) / sd;
        double mass = Math.Max(NormalCdf((high - mean) / sd) - NormalCdf((low - mean) / sd), 1e-300);
        return -0.5 * z * z - Math.Log(sd * Math.Sqrt(2 * Math.PI)) - Math.Log(mass);
    }

    /// <summary>Standard normal CDF via the complementary error function (Numerical Recipes' erfc, relative error &lt;
    /// 1.2e-7).</summary>
    public static double NormalCdf(double z)
    {
        double x = -z / Math.Sqrt(2),
            t = 1 / (1 + 0.5 * Math.Abs(x));
        double erfc =
            t
            * Math.Exp(
                -x * x
                    - 1.26551223
                    + t
                        * (
                            1.00002368
                            + t
                                * (
                                    0.37409196
                                    + t
                                        * (
                                            0.09678418
                                            + t
                                                * (
                                                    -0.18628806
                                                    + t
                                                        * (
                                                            0.27886807
                                                            + t
                                                                * (
                                                                    -1.13520398
                                                                    + t
                                                                        * (
                                                                            1.48851587
                                                                            + t * (-0.82215223 + t * 0.17087277)
                                                                        )
                                                                )
                                                        )
                                                )
                                        )
                                )
                        )
            );
        return 0.5 * (x >= 0 ? erfc : 2 - erfc);
    }
}
