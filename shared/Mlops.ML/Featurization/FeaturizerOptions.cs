namespace Mlops.ML.Featurization;

/// <summary>Options for fitting a <see cref="Featurizer"/>.</summary>
public sealed class FeaturizerOptions
{
    /// <summary>Most frequent categories kept per categorical column; rarer and unseen ones share an "other" code.
    /// Default 100, at most 250.</summary>
    public int MaxCategories { get; init; } = 100;

    /// <summary>Categories seen fewer times than this go to "other". Default 1.</summary>
    public int MinCategoryCount { get; init; } = 1;

    public void Validate()
    {
        if (MaxCategories is < 1 or > 250)
            throw new ArgumentException("MaxCategories must be in 1..250.", nameof(MaxCategories));
        if (MinCategoryCount < 1)
            throw new ArgumentException("MinCategoryCount must be positive.", nameof(MinCategoryCount));
    }
}
