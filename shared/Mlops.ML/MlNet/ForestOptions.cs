using Mlops.ML.Gbdt;

namespace Mlops.ML.MlNet;

/// <summary>
/// Hyperparameters of the random-forest trainer (Microsoft.ML FastForest). Defaults are FastForest's: 100 trees of
/// 20 leaves, at least 10 rows per leaf, 70% of the features per tree. Names in <see cref="FromDictionary"/> are
/// snake_case.
/// </summary>
public sealed record ForestOptions
{
    /// <summary>Trees in the forest. <c>num_trees</c>, default 100.</summary>
    public int NumTrees { get; init; } = 100;

    /// <summary>Maximum leaves per tree. <c>num_leaves</c>, default 20.</summary>
    public int NumLeaves { get; init; } = 20;

    /// <summary>Minimum training rows in a leaf. <c>min_data_in_leaf</c>, default 10.</summary>
    public int MinDataInLeaf { get; init; } = 10;

    /// <summary>Share of features each tree may use. <c>feature_fraction</c>, default 0.7.</summary>
    public double FeatureFraction { get; init; } = 0.7;

    /// <summary>Worker threads; 0 uses all cores. <c>threads</c>, default 0.</summary>
    public int Threads { get; init; }

    /// <summary>Option names accepted by <see cref="FromDictionary"/>.</summary>
    public static IReadOnlyList<string> Names { get; } =
    ["num_trees", "num_leaves", "min_data_in_leaf", "feature_fraction", "threads"];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public ForestOptions Validate()
    {
        if (NumTrees is < 1 or > 10_000)
            throw new ArgumentException("num_trees must be in 1..10000.", "num_trees");
        if (NumLeaves is < 2 or > 4096)
            throw new ArgumentException("num_leaves must be in 2..4096.", "num_leaves");
        if (MinDataInLeaf < 1)
            throw new ArgumentException("min_data_in_leaf must be at least 1.", "min_data_in_leaf");
        if (!(FeatureFraction > 0 && FeatureFraction <= 1))
            throw new ArgumentException("feature_fraction must be in (0, 1].", "feature_fraction");
        if (Threads < 0)
            throw new ArgumentException("threads must be >= 0.", "threads");
        return this;
    }

    /// <summary>Applies snake_case hyperparameters over the defaults; unknown names throw.</summary>
    public static ForestOptions FromDictionary(IReadOnlyDictionary<string, object>? values)
    {
        var o = new ForestOptions();
        foreach (var (key, value) in values ?? new Dictionary<string, object>())
        {
            o = key switch
            {
                "num_trees" => o with { NumTrees = Hyper.Int(key, value) },
                "num_leaves" => o with { NumLeaves = Hyper.Int(key, value) },
                "min_data_in_leaf" => o with { MinDataInLeaf = Hyper.Int(key, value) },
                "feature_fraction" => o with { FeatureFraction = Hyper.Double(key, value) },
                "threads" => o with { Threads = Hyper.Int(key, value) },
                _ => throw new ArgumentException(
                    $"Unknown forest option '{key}'. Known: {string.Join(", ", Names)}.",
                    key
                ),
            };
        }
        return o.Validate();
    }

    /// <summary>The options as a name → value map (stored in model files).</summary>
    public Dictionary<string, object> ToDictionary() =>
        new()
        {
            ["num_trees"] = NumTrees,
            ["num_leaves"] = NumLeaves,
            ["min_data_in_leaf"] = MinDataInLeaf,
            ["feature_fraction"] = FeatureFraction,
            ["threads"] = Threads,
        };
}
