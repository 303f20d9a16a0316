using Mlops.ML.Gbdt;

namespace Mlops.ML.Linear;

/// <summary>
/// Hyperparameters of <see cref="LinearTrainer"/>. The penalty matches scikit-learn's conventions so results are
/// comparable: logistic regression minimizes Σ logloss + (l2/2)·‖w‖² (C = 1/l2), ridge minimizes Σ squared error +
/// l2·‖w‖² (alpha = l2). The intercept is never penalized. Numeric features are median-imputed and standardized;
/// categoricals are one-hot.
/// </summary>
public sealed record LinearOptions
{
    /// <summary>L2 penalty strength. <c>l2</c>, default 1.</summary>
    public double L2 { get; init; } = 1.0;

    /// <summary>L-BFGS iteration limit (logistic regression). <c>max_iterations</c>, default 1000.</summary>
    public int MaxIterations { get; init; } = 1000;

    /// <summary>Stop when the largest gradient entry of the mean objective falls below this. <c>tolerance</c>, default
    /// 1e-6.</summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>L-BFGS history length. <c>lbfgs_memory</c>, default 10.</summary>
    public int LbfgsMemory { get; init; } = 10;

    /// <summary>Worker threads; 0 uses all cores. <c>threads</c>, default 0.</summary>
    public int Threads { get; init; }

    public static IReadOnlyList<string> Names { get; } =
    ["l2", "max_iterations", "tolerance", "lbfgs_memory", "threads"];

    public LinearOptions Validate()
    {
        if (!(L2 >= 0))
            throw new ArgumentException("l2 must be >= 0.", "l2");
        if (MaxIterations < 1)
            throw new ArgumentException("max_iterations must be at least 1.", "max_iterations");
        if (!(Tolerance > 0))
            throw new ArgumentException("tolerance must be positive.", "tolerance");
        if (LbfgsMemory is < 1 or > 100)
            throw new ArgumentException("lbfgs_memory must be in 1..100.", "lbfgs_memory");
        if (Threads < 0)
            throw new ArgumentException("threads must be >= 0.", "threads");
        return this;
    }

    public static LinearOptions FromDictionary(IReadOnlyDictionary<string, object>? values)
    {
        var o = new LinearOptions();
        if (values is null)
            return o.Validate();
        foreach (var (key, value) in values)
        {
            o = key switch
            {
                "l2" => o with { L2 = Hyper.Double(key, value) },
                "max_iterations" => o with { MaxIterations = Hyper.Int(key, value) },
                "tolerance" => o with { Tolerance = Hyper.Double(key, value) },
                "lbfgs_memory" => o with { LbfgsMemory = Hyper.Int(key, value) },
                "threads" => o with { Threads = Hyper.Int(key, value) },
                _ => throw new ArgumentException(
                    $"Unknown linear option '{key}'. Known: {string.Join(", ", Names)}.",
                    key
                ),
            };
        }
        return o.Validate();
    }

    public Dictionary<string, object> ToDictionary() =>
        new()
        {
            ["l2"] = L2,
            ["max_iterations"] = MaxIterations,
            ["tolerance"] = Tolerance,
            ["lbfgs_memory"] = LbfgsMemory,
            ["threads"] = Threads,
        };
}
