namespace Mlops.ML.Featurization;

/// <summary>How a model feature is derived from an input column.</summary>
public enum FeatureSource
{
    /// <summary>The numeric (or 0/1 boolean) value itself; NaN when missing.</summary>
    Value,

    /// <summary>The index of the category in <see cref="InputColumn.Categories"/>; the count of categories for "other";
    /// NaN when missing.</summary>
    CategoryCode,

    /// <summary>Calendar year of a datetime column.</summary>
    Year,

    /// <summary>Month 1–12.</summary>
    Month,

    /// <summary>Day of month 1–31.</summary>
    Day,

    /// <summary>Day of week, Sunday = 0.</summary>
    DayOfWeek,

    /// <summary>Hour 0–23.</summary>
    Hour,
}

/// <summary>One model feature: the float a trainer sees, derived from <paramref name="Column"/>.</summary>
/// <param name="Name">Display name, e.g. <c>when.month</c>.</param>
/// <param name="Column">Index into the featurizer's input columns.</param>
/// <param name="Source">How the value is derived.</param>
/// <param name="CategoryCount">Known categories for <see cref="FeatureSource.CategoryCode"/> (code == CategoryCount
/// means "other").</param>
public sealed record FeatureDefinition(string Name, int Column, FeatureSource Source, int CategoryCount = 0)
{
    public bool IsCategorical => Source == FeatureSource.CategoryCode;
}
