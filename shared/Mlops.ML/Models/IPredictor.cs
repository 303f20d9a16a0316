namespace Mlops.ML.Models;

/// <summary>Turns featurized rows into raw scores (logits or regression values). Implementations are immutable and
/// thread-safe.</summary>
public interface IPredictor
{
    /// <summary>Scores per row: 1, or the class count for multiclass.</summary>
    int OutputCount { get; }

    /// <summary>Features per row.</summary>
    int FeatureCount { get; }

    /// <summary>Writes raw scores of <paramref name="rows"/> row-major feature rows into <paramref name="raw"/> (rows ×
    /// OutputCount).</summary>
    void Predict(ReadOnlySpan<float> features, int rows, Span<double> raw);
}
