using Mlops.ML.Linear;

namespace Mlops.ML.Explain;

/// <summary>
/// Exact attributions of a linear model: each term's weight times how far the row's expanded value lies from the
/// reference point (the training mean of every expanded column, <see cref="LinearModel.SlotMeans"/>). A linear score's
/// Shapley values against a fixed reference are exactly these, and the base value is the score of the reference — the
/// mean raw score over the training rows. Models saved without slot means use the origin of the expanded space
/// (numerics at their training mean, no category), which is still exact, just a different reference.
/// </summary>
internal sealed class LinearAttribution
{
    private readonly LinearModel _model;
    private readonly double[] _means;

    public LinearAttribution(LinearModel model)
    {
        _model = model;
        _means = model.SlotMeans ?? new double[model.Width];
        Expected = new double[model.OutputCount];
        for (int c = 0; c < model.OutputCount; c++)
        {
            double s = model.Intercepts[c];
            for (int j = 0; j < model.Width; j++)
                s += model.Weights[c * model.Width + j] * _means[j];
            Expected[c] = s;
        }
    }

    /// <summary>Base value per output (the score of the reference point).</summary>
    public double[] Expected { get; }

    /// <summary>Adds per-feature attributions to <paramref name="phi"/> (output-major: <c>phi[output × features +
    /// feature]</c>).</summary>
    public void Explain(ReadOnlySpan<float> x, Span<double> phi)
    {
        int f = _model.FeatureCount,
            width = _model.Width;
        for (int c = 0; c < _model.OutputCount; c++)
        {
            int wo = c * width;
            foreach (var t in _model.Terms)
            {
                double a;
                if (t.Categorical)
                {
                    // One-hot: the row's slot is 1, every slot's reference is its mean.
                    a = 0;
                    for (int s = 0; s < t.Slots; s++)
                        a -= _model.Weights[wo + t.Offset + s] * _means[t.Offset + s];
                    float v = x[t.Feature];
                    if (!float.IsNaN(v))
                        a += _model.Weights[wo + t.Offset + Math.Clamp((int)v, 0, t.Slots - 1)];
                }
                else
                {
                    a = _model.Weights[wo + t.Offset] * (LinearModel.Standardize(t, x[t.Feature]) - _means[t.Offset]);
                }
                phi[c * f + t.Feature] += a;
            }
        }
    }
}
