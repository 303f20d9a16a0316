using System.Globalization;

namespace Mlops.ML.Gbdt;

/// <summary>
/// Hyperparameters of gradient boosting, for both engines (Microsoft.ML's LightGBM and our <see cref="GbdtTrainer"/>).
/// Defaults follow LightGBM's (leaf-wise trees of 31 leaves, learning rate 0.1, 100 rounds, at least 20 rows per leaf),
/// with a size-aware tree shape on large data (<see cref="ForTraining"/>). Names use LightGBM's snake_case.
/// </summary>
public sealed record GbdtOptions
{
    /// <summary>Boosting rounds (trees per class). <c>num_rounds</c>, default 100.</summary>
    public int NumRounds { get; init; } = 100;

    /// <summary>Shrinkage applied to every leaf value. <c>learning_rate</c>, default 0.1.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Maximum leaves per tree (trees grow best-leaf-first). <c>num_leaves</c>, default 31.</summary>
    public int NumLeaves { get; init; } = 31;

    /// <summary>Maximum depth; 0 or less means unlimited (bounded by <see cref="NumLeaves"/>). <c>max_depth</c>,
    /// default -1.</summary>
    public int MaxDepth { get; init; } = -1;

    /// <summary>Minimum training rows in a leaf. <c>min_data_in_leaf</c>, default 20.</summary>
    public int MinDataInLeaf { get; init; } = 20;

    /// <summary>Minimum sum of hessians in a leaf (guards against huge leaf values). <c>min_sum_hessian_in_leaf</c>,
    /// default 1e-3.</summary>
    public double MinSumHessianInLeaf { get; init; } = 1e-3;

    /// <summary>L1 penalty on leaf values. <c>l1</c>, default 0.</summary>
    public double L1 { get; init; }

    /// <summary>L2 penalty on leaf values. <c>l2</c>, default 0.</summary>
    public double L2 { get; init; }

    /// <summary>Minimum loss reduction to split. <c>min_gain_to_split</c>, default 0.</summary>
    public double MinGainToSplit { get; init; }

    /// <summary>Share of features each tree may use (sampled per tree). <c>feature_fraction</c>, default 1.</summary>
    public double FeatureFraction { get; init; } = 1.0;

    /// <summary>Share of rows each round trains on (sampled per round). <c>bagging_fraction</c>, default 1.</summary>
    public double BaggingFraction { get; init; } = 1.0;

    /// <summary>Maximum value bins per feature (one more bin holds missing values). <c>max_bins</c>, default 255 (at
    /// most 255).</summary>
    public int MaxBins { get; init; } = 255;

    /// <summary>Rows sampled to find bin boundaries. <c>bin_sample_size</c>, default 200,000.</summary>
    public int BinSampleSize { get; init; } = 200_000;

    /// <summary>Stop when the validation loss has not improved for this many rounds; 0 disables.
    /// <c>early_stopping_rounds</c>, default 0.</summary>
    public int EarlyStoppingRounds { get; init; }

    /// <summary>Share of training rows held out for early stopping when no validation set is given.
    /// <c>validation_fraction</c>, default 0.1.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Regression loss: <c>l2</c>, <c>l1</c> or <c>huber</c>. <c>objective</c>, default l2 (ignored for
    /// classification).</summary>
    public string Objective { get; init; } = "l2";

    /// <summary>Huber transition point. <c>huber_delta</c>, default 1.</summary>
    public double HuberDelta { get; init; } = 1.0;

    /// <summary>Worker threads; 0 uses all cores. Results do not depend on it. <c>threads</c>, default 0.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Which implementation grows the trees: <c>lightgbm</c> (Microsoft.ML's LightGBM, converted to our format),
    /// <c>mlops</c> (our own histogram GBDT), or <c>auto</c> — LightGBM from <see cref="LightGbmMinRows"/> training
    /// rows up, ours below (measured on the bundled sets: equal or better quality there, and no native start-up cost)
    /// and for the l1 and huber objectives, which only ours has. <c>engine</c>, default auto.
    /// </summary>
    public string Engine { get; init; } = "auto";

    /// <summary>
    /// How trees split categorical columns: <c>ordered</c> — threshold splits on category codes ordered by mean target
    /// (both engines) — or <c>native</c> — LightGBM's own category-set splits (LightGBM engine only; converted back to
    /// threshold chains on the code). Default ordered: on diamonds (3 categorical columns, 43k rows) it measured RMSE
    /// 535 against 540 for native, same time. <c>categorical_split</c>.
    /// </summary>
    public string CategoricalSplit { get; init; } = "ordered";

    /// <summary>Training rows from which <c>engine=auto</c> picks LightGBM.</summary>
    public const int LightGbmMinRows = 20_000;

    /// <summary>
    /// The tree shape used when <c>engine=auto</c> picks LightGBM and the user sets none of learning_rate, num_leaves
    /// and max_depth: XGBoost's default shape (depth 6, learning rate 0.3) in LightGBM terms, 63 leaves at most. 100
    /// rounds of LightGBM's 31 leaves at 0.1 underfit large sets; measured back to back (load average ≈ 7.5) against
    /// those defaults: synth 1M AUC 0.9730 → 0.9738 and train 11.6 s → 8.9 s (shallower trees are cheaper), synth_100k
    /// 0.9705 → 0.9721, diamonds RMSE 535 → 533.
    /// </summary>
    public static GbdtOptions LargeDataShape { get; } =
        new()
        {
            NumLeaves = 63,
            MaxDepth = 6,
            LearningRate = 0.3,
        };

    /// <summary>
    /// <see cref="FromDictionary"/> plus the size-aware defaults for options the user did not set
    /// (see <see cref="LargeDataShape"/>).
    /// </summary>
    public static GbdtOptions ForTraining(IReadOnlyDictionary<string, object>? values, MlTask task, int trainingRows)
    {
        var o = FromDictionary(values);
        bool userShape =
            values is not null
            && (
                values.ContainsKey("learning_rate")
                || values.ContainsKey("num_leaves")
                || values.ContainsKey("max_depth")
            );
        return !userShape && o.Engine == "auto" && o.ResolvedEngine(task, trainingRows) == "lightgbm"
            ? o with
            {
                NumLeaves = LargeDataShape.NumLeaves,
                MaxDepth = LargeDataShape.MaxDepth,
                LearningRate = LargeDataShape.LearningRate,
            }
            : o;
    }

    /// <summary>The implementation <see cref="Engine"/> resolves to for this task, objective and size: <c>lightgbm</c>
    /// or <c>mlops</c>.</summary>
    public string ResolvedEngine(MlTask task, int trainingRows) =>
        Engine switch
        {
            "auto" => (task == MlTask.Regression && Objective != "l2") || trainingRows < LightGbmMinRows
                ? "mlops"
                : "lightgbm",
            _ => Engine,
        };

    /// <summary>Option names accepted by <see cref="FromDictionary"/>.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "num_rounds",
        "learning_rate",
        "num_leaves",
        "max_depth",
        "min_data_in_leaf",
        "min_sum_hessian_in_leaf",
        "l1",
        "l2",
        "min_gain_to_split",
        "feature_fraction",
        "bagging_fraction",
        "max_bins",
        "bin_sample_size",
        "early_stopping_rounds",
        "validation_fraction",
        "objective",
        "huber_delta",
        "threads",
        "engine",
        "categorical_split",
    ];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public GbdtOptions Validate()
    {
        if (NumRounds < 1)
            throw new ArgumentException("num_rounds must be at least 1.", "num_rounds");
        if (!(LearningRate > 0 && LearningRate <= 1))
            throw new ArgumentException("learning_rate must be in (0, 1].", "learning_rate");
        if (NumLeaves is < 2 or > 4096)
            throw new ArgumentException("num_leaves must be in 2..4096.", "num_leaves");
        if (MinDataInLeaf < 1)
            throw new ArgumentException("min_data_in_leaf must be at least 1.", "min_data_in_leaf");
        if (!(MinSumHessianInLeaf >= 0))
            throw new ArgumentException("min_sum_hessian_in_leaf must be >= 0.", "min_sum_hessian_in_leaf");
        if (!(L1 >= 0))
            throw new ArgumentException("l1 must be >= 0.", "l1");
        if (!(L2 >= 0))
            throw new ArgumentException("l2 must be >= 0.", "l2");
        if (!(MinGainToSplit >= 0))
            throw new ArgumentException("min_gain_to_split must be >= 0.", "min_gain_to_split");
        if (!(FeatureFraction > 0 && FeatureFraction <= 1))
            throw new ArgumentException("feature_fraction must be in (0, 1].", "feature_fraction");
        if (!(BaggingFraction > 0 && BaggingFraction <= 1))
            throw new ArgumentException("bagging_fraction must be in (0, 1].", "bagging_fraction");
        if (MaxBins is < 2 or > 255)
            throw new ArgumentException("max_bins must be in 2..255.", "max_bins");
        if (BinSampleSize < 1000)
            throw new ArgumentException("bin_sample_size must be at least 1000.", "bin_sample_size");
        if (EarlyStoppingRounds < 0)
            throw new ArgumentException("early_stopping_rounds must be >= 0.", "early_stopping_rounds");
        if (!(ValidationFraction > 0 && ValidationFraction < 0.9))
            throw new ArgumentException("validation_fraction must be in (0, 0.9).", "validation_fraction");
        if (Objective is not ("l2" or "l1" or "huber"))
            throw new ArgumentException("objective must be l2, l1 or huber.", "objective");
        if (!(HuberDelta > 0))
            throw new ArgumentException("huber_delta must be positive.", "huber_delta");
        if (Threads < 0)
            throw new ArgumentException("threads must be >= 0.", "threads");
        if (Engine is not ("auto" or "lightgbm" or "mlops"))
            throw new ArgumentException("engine must be auto, lightgbm or mlops.", "engine");
        if (CategoricalSplit is not ("ordered" or "native"))
            throw new ArgumentException("categorical_split must be ordered or native.", "categorical_split");
        if (Engine == "lightgbm" && Objective != "l2")
            throw new ArgumentException(
                $"engine lightgbm supports the l2 regression objective only; objective {Objective} needs engine mlops (or auto).",
                "engine"
            );
        return this;
    }

    /// <summary>Applies snake_case hyperparameters (numbers or strings) over the defaults; unknown names
    /// throw.</summary>
    public static GbdtOptions FromDictionary(IReadOnlyDictionary<string, object>? values, GbdtOptions? baseline = null)
    {
        var o = baseline ?? new GbdtOptions();
        if (values is null)
            return o.Validate();
        foreach (var (key, value) in values)
        {
            o = key switch
            {
                "num_rounds" => o with { NumRounds = Hyper.Int(key, value) },
                "learning_rate" => o with { LearningRate = Hyper.Double(key, value) },
                "num_leaves" => o with { NumLeaves = Hyper.Int(key, value) },
                "max_depth" => o with { MaxDepth = Hyper.Int(key, value) },
                "min_data_in_leaf" => o with { MinDataInLeaf = Hyper.Int(key, value) },
                "min_sum_hessian_in_leaf" => o with { MinSumHessianInLeaf = Hyper.Double(key, value) },
                "l1" => o with { L1 = Hyper.Double(key, value) },
                "l2" => o with { L2 = Hyper.Double(key, value) },
                "min_gain_to_split" => o with { MinGainToSplit = Hyper.Double(key, value) },
                "feature_fraction" => o with { FeatureFraction = Hyper.Double(key, value) },
                "bagging_fraction" => o with { BaggingFraction = Hyper.Double(key, value) },
                "max_bins" => o with { MaxBins = Hyper.Int(key, value) },
                "bin_sample_size" => o with { BinSampleSize = Hyper.Int(key, value) },
                "early_stopping_rounds" => o with { EarlyStoppingRounds = Hyper.Int(key, value) },
                "validation_fraction" => o with { ValidationFraction = Hyper.Double(key, value) },
                "objective" => o with { Objective = Hyper.String(key, value) },
                "huber_delta" => o with { HuberDelta = Hyper.Double(key, value) },
                "threads" => o with { Threads = Hyper.Int(key, value) },
                "engine" => o with { Engine = Hyper.String(key, value) },
                "categorical_split" => o with { CategoricalSplit = Hyper.String(key, value) },
                _ => throw new ArgumentException(
                    $"Unknown GBDT option '{key}'. Known: {string.Join(", ", Names)}.",
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
            ["num_rounds"] = NumRounds,
            ["learning_rate"] = LearningRate,
            ["num_leaves"] = NumLeaves,
            ["max_depth"] = MaxDepth,
            ["min_data_in_leaf"] = MinDataInLeaf,
            ["min_sum_hessian_in_leaf"] = MinSumHessianInLeaf,
            ["l1"] = L1,
            ["l2"] = L2,
            ["min_gain_to_split"] = MinGainToSplit,
            ["feature_fraction"] = FeatureFraction,
            ["bagging_fraction"] = BaggingFraction,
            ["max_bins"] = MaxBins,
            ["bin_sample_size"] = BinSampleSize,
            ["early_stopping_rounds"] = EarlyStoppingRounds,
            ["validation_fraction"] = ValidationFraction,
            ["objective"] = Objective,
            ["huber_delta"] = HuberDelta,
            ["threads"] = Threads,
            ["engine"] = Engine,
            ["categorical_split"] = CategoricalSplit,
        };
}

/// <summary>Converts loosely typed hyperparameter values (boxed numbers, strings, JSON elements) with errors naming the
/// option.</summary>
internal static class Hyper
{
    public static double Double(string key, object value) =>
        value switch
        {
            double d => d,
            float f => f,
            int i => i,
            long l => l,
            decimal m => (double)m,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Number } e => e.GetDouble(),
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } e
                when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => throw new ArgumentException($"Option '{key}' must be a number, got '{value}'.", key),
        };

    public static int Int(string key, object value)
    {
        double d = Double(key, value);
        if (d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue)
            throw new ArgumentException($"Option '{key}' must be an integer, got '{value}'.", key);
        return (int)d;
    }

    public static string String(string key, object value) =>
        value switch
        {
            string s => s,
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } e => e.GetString()!,
            _ => throw new ArgumentException($"Option '{key}' must be a string, got '{value}'.", key),
        };
}
