using Mlops.ML.Models;

namespace Mlops.ML.Linear;

/// <summary>How one featurized input enters a linear model.</summary>
/// <param name="Feature">Featurizer feature index.</param>
/// <param name="Offset">First weight column of this term.</param>
/// <param name="Slots">1 for a numeric term; known categories + 1 ("other") for a one-hot term.</param>
/// <param name="Impute">Value used when the input is missing (training median).</param>
/// <param name="Mean">Standardization mean.</param>
/// <param name="Scale">Standardization scale (training standard deviation, 1 when constant).</param>
public sealed record LinearTerm(
    int Feature,
    int Offset,
    int Slots,
    bool Categorical,
    double Impute,
    double Mean,
    double Scale
);

/// <summary>
/// A fitted linear model on standardized numerics and one-hot categoricals: raw score of output c =
/// Intercepts[c] + Σ Weights[c·D + column]·value. A missing category contributes nothing. Immutable and thread-safe.
/// </summary>
public sealed class LinearModel : IPredictor
{
    public LinearModel(
        int outputCount,
        int featureCount,
        IReadOnlyList<LinearTerm> terms,
        double[] weights,
        double[] intercepts,
        double[]? slotMeans = null
    )
    {
        OutputCount = outputCount;
        FeatureCount = featureCount;
        Terms = terms;
        Weights = weights;
        Intercepts = intercepts;
        Width = terms.Count == 0 ? 0 : terms[^1].Offset + terms[^1].Slots;
        if (weights.Length != Width * outputCount)
            throw new ArgumentException("weights must have OutputCount × Width entries.", nameof(weights));
        if (slotMeans is not null && slotMeans.Length != Width)
            throw new ArgumentException("slotMeans must have Width entries.", nameof(slotMeans));
        SlotMeans = slotMeans;
    }

    /// <summary>
    /// Mean of each expanded column over the training rows (standardized numerics ≈ 0, one-hot slots = category
    /// shares), or null for models trained before explanations: the reference point linear attributions are measured
    /// from.
    /// </summary>
    public double[]? SlotMeans { get; }

    /// <summary>The same model with <see cref="SlotMeans"/> set.</summary>
    public LinearModel WithSlotMeans(double[] slotMeans) =>
        new(OutputCount, FeatureCount, Terms, Weights, Intercepts, slotMeans);

    public int OutputCount { get; }
    public int FeatureCount { get; }
    public IReadOnlyList<LinearTerm> Terms { get; }

    /// <summary>Output-major weights: <c>Weights[c * Width + column]</c>.</summary>
    public double[] Weights { get; }
    public double[] Intercepts { get; }

    /// <summary>Expanded columns (numerics + one-hot slots).</summary>
    public int Width { get; }

    public void Predict(ReadOnlySpan<float> features, int rows, Span<double> raw)
    {
        int k = OutputCount,
            f = FeatureCount;
        for (int r = 0; r < rows; r++)
        {
            var x = features.Slice(r * f, f);
            for (int c = 0; c < k; c++)
            {
                double s = Intercepts[c];
                int wo = c * Width;
                foreach (var t in Terms)
                {
                    float v = x[t.Feature];
                    if (t.Categorical)
                    {
                        if (float.IsNaN(v))
                            continue;
                        int code = Math.Clamp((int)v, 0, t.Slots - 1);
                        s += Weights[wo + t.Offset + code];
                    }
                    else
                    {
                        s += Weights[wo + t.Offset] * Standardize(t, v);
                    }
                }
                raw[r * k + c] = s;
            }
        }
    }

    internal static double Standardize(LinearTerm t, float v) => ((float.IsNaN(v) ? t.Impute : v) - t.Mean) / t.Scale;

    /// <summary>Absolute weight per featurizer feature (summed over outputs and slots), a rough importance for
    /// standardized inputs.</summary>
    public double[] WeightMagnitudeByFeature()
    {
        var m = new double[FeatureCount];
        foreach (var t in Terms)
            for (int c = 0; c < OutputCount; c++)
            for (int j = 0; j < t.Slots; j++)
                m[t.Feature] += Math.Abs(Weights[c * Width + t.Offset + j]);
        return m;
    }
}
