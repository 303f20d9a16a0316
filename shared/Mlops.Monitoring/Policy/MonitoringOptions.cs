using System.Text.Json;
using System.Xml;
using Mlops.Core.Scheduling;
using Mlops.Data.Validation;

namespace Mlops.Monitoring.Policy;

/// <summary>One <c>retrain.when</c> entry: a signal and its limit.</summary>
/// <param name="Signal"><c>performance</c>, <c>data_drift</c>, <c>attribution_drift</c>, <c>schedule</c> or
/// <c>new_labels</c>.</param>
/// <param name="Metric">performance: the metric watched (e.g. <c>auc</c>).</param>
/// <param name="Drop">performance: absolute drop from the reference metric that triggers (direction-aware).</param>
/// <param name="Share">data_drift: share of drifted features that triggers; attribution_drift: change of one column's
/// attribution share that triggers.</param>
/// <param name="Cron">schedule: 6-field NCRONTAB.</param>
/// <param name="Count">new_labels: labels received since the last retraining.</param>
public sealed record RetrainCondition(
    string Signal,
    string? Metric = null,
    double? Drop = null,
    double? Share = null,
    string? Cron = null,
    long? Count = null
);

/// <summary>The <c>monitoring.retrain</c> section.</summary>
/// <param name="When">Conditions; any that holds starts a retraining (subject to cooldown and cap).</param>
/// <param name="TrainOn"><c>accepted</c> (the dataset's accepted versions), <c>accepted+feedback</c> or
/// <c>feedback</c>.</param>
/// <param name="Cooldown">Least time between two retrainings.</param>
/// <param name="MaxPerDay">Most retrainings in any 24 hours.</param>
/// <param name="MaxFeedbackShare">
/// Largest share of a training set that feedback rows may make up (default <see cref="DefaultMaxFeedbackShare"/>):
/// labels come from whoever holds the feedback key, so they may steer a retraining but never outweigh the accepted
/// data.
/// </param>
public sealed record RetrainOptions(
    IReadOnlyList<RetrainCondition> When,
    string TrainOn,
    TimeSpan Cooldown,
    int MaxPerDay,
    double MaxFeedbackShare = RetrainOptions.DefaultMaxFeedbackShare
)
{
    /// <summary>Default of <see cref="MaxFeedbackShare"/>: at most a fifth of the training rows come from
    /// feedback.</summary>
    public const double DefaultMaxFeedbackShare = 0.2;
}

/// <summary>Data-quality limits on served inputs (shares of the window's rows, per feature).</summary>
/// <param name="MissingRateIncrease">Missing rate above the reference's by more than this is a breach.</param>
/// <param name="TypeErrorRate">Values of the wrong type above this share.</param>
/// <param name="OutOfRangeRate">Numbers outside the reference's [min, max] above this share.</param>
/// <param name="UnseenCategoryRate">Categories absent from the reference above this share.</param>
public sealed record QualityThresholds(
    double MissingRateIncrease = 0.05,
    double TypeErrorRate = 0,
    double OutOfRangeRate = 0.05,
    double UnseenCategoryRate = 0.05
);

/// <summary>What a monitor run compares the production window with (<c>monitoring.baseline</c>).</summary>
public enum BaselineKind
{
    /// <summary><c>"serving"</c> (default): the reference profile stored with the monitored version (its training
    /// data).</summary>
    Serving,

    /// <summary><c>{"dataset": "hash or prefix"}</c>: a pinned dataset version, profiled once and stored by its
    /// hash.</summary>
    Dataset,

    /// <summary><c>"previous-window"</c>: the window of the same length just before the current one, read from the
    /// log.</summary>
    PreviousWindow,
}

/// <summary>The <c>monitoring.baseline</c> setting.</summary>
/// <param name="Kind">Which baseline.</param>
/// <param name="Dataset">Dataset: the version's hash or a unique prefix of it (lowercase hex).</param>
public sealed record MonitoringBaseline(BaselineKind Kind, string? Dataset = null)
{
    /// <summary>The default: the serving version's training profile.</summary>
    public static MonitoringBaseline Serving { get; } = new(BaselineKind.Serving);

    /// <summary>The name reports carry: <c>serving</c>, <c>dataset</c> or <c>previous-window</c>.</summary>
    public string Name =>
        Kind switch
        {
            BaselineKind.Dataset => "dataset",
            BaselineKind.PreviousWindow => "previous-window",
            _ => "serving",
        };
}

/// <summary>
/// A model's <c>monitoring</c> section of <c>mlops.json</c>, parsed and validated: when the monitor runs, over which
/// window, with which limits, and when it retrains. Every value has a default; errors name the offending key.
/// </summary>
public sealed record MonitoringOptions
{
    /// <summary>6-field NCRONTAB of the monitor timer (default hourly).</summary>
    public string Schedule { get; init; } = "0 0 * * * *";

    /// <summary>Production window of a run (default P1D).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How late a label may arrive and still be joined (default P30D).</summary>
    public TimeSpan Lookback { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Fewest joined labels for realized performance (default 100; fewer → "insufficient labels").</summary>
    public int MinLabels { get; init; } = 100;

    /// <summary>Share of drifted features that makes the dataset drifted (default 0.5).</summary>
    public double DriftShare { get; init; } = 0.5;

    /// <summary>Per-feature drift test (default auto: Evidently's size rule) and its threshold.</summary>
    public DriftColumnOptions Drift { get; init; } = new();

    /// <summary>Reference sizes up to this use p-value tests.</summary>
    public int SmallSampleMaxRows { get; init; } = 1000;

    /// <summary>Fewest values on each side for a drift verdict.</summary>
    public int MinRowsForDrift { get; init; } = 30;

    /// <summary>Bins of PSI on numeric columns (reference quantile bins), as validation's <c>psiBins</c>.</summary>
    public int PsiBins { get; init; } = 10;

    /// <summary>The settings the drift judge reads (<see cref="Data.Drift.DriftDetector.Judge"/>), as validation passes
    /// them.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Data.Drift.DriftRules DriftRules => new(SmallSampleMaxRows, MinRowsForDrift, PsiBins);

    /// <summary>Data-quality limits.</summary>
    public QualityThresholds Quality { get; init; } = new();

    /// <summary>Baseline the window is compared with (default: the serving version's training profile).</summary>
    public MonitoringBaseline Baseline { get; init; } = MonitoringBaseline.Serving;

    /// <summary>Retraining policy; null = report and alert only.</summary>
    public RetrainOptions? Retrain { get; init; }

    /// <summary>Default of <see cref="FeedbackLabelsPerKeyPerDay"/>.</summary>
    public const int DefaultFeedbackLabelsPerKeyPerDay = 50_000;

    /// <summary>
    /// Most feedback labels one caller key may store for this model per UTC day
    /// (<c>monitoring.feedbackPerKeyPerDay</c>, default 50,000): a leaked or misused key can only write so much ground
    /// truth before it is refused (429).
    /// </summary>
    public int FeedbackLabelsPerKeyPerDay { get; init; } = DefaultFeedbackLabelsPerKeyPerDay;

    private static readonly string[] Signals =
    [
        "performance",
        "data_drift",
        "attribution_drift",
        "schedule",
        "new_labels",
    ];
    private static readonly string[] TrainOnValues = ["accepted", "accepted+feedback", "feedback"];

    /// <summary>Parses the <c>monitoring</c> object (null or absent: every default).</summary>
    /// <exception cref="MonitoringException"><c>monitoring.config</c> naming the key and what is wrong.</exception>
    public static MonitoringOptions Parse(JsonElement? section)
    {
        if (section is not { } s || s.ValueKind == JsonValueKind.Null)
            return new MonitoringOptions();
        if (s.ValueKind != JsonValueKind.Object)
            throw Bad("monitoring", "must be an object");
        var o = new MonitoringOptions();
        foreach (var p in s.EnumerateObject())
        {
            string key = "monitoring." + p.Name;
            o = p.Name switch
            {
                "schedule" => o with { Schedule = Cron(p.Value, key) },
                "window" => o with { Window = Duration(p.Value, key) },
                "lookback" => o with { Lookback = Duration(p.Value, key) },
                "minLabels" => o with { MinLabels = (int)Number(p.Value, key, 1, 10_000_000) },
                "driftShare" => o with { DriftShare = Number(p.Value, key, 0, 1) },
                "smallSampleMaxRows" => o with { SmallSampleMaxRows = (int)Number(p.Value, key, 0, int.MaxValue) },
                "minRowsForDrift" => o with { MinRowsForDrift = (int)Number(p.Value, key, 2, int.MaxValue) },
                "psiBins" => o with { PsiBins = (int)Number(p.Value, key, 2, 1000) },
                "drift" => o with { Drift = DriftSettings(p.Value, key) },
                "quality" => o with { Quality = QualitySettings(p.Value, key) },
                "retrain" => o with { Retrain = RetrainSettings(p.Value, key) },
                "baseline" => o with { Baseline = BaselineSetting(p.Value, key) },
                "feedbackPerKeyPerDay" => o with
                {
                    FeedbackLabelsPerKeyPerDay = (int)Number(p.Value, key, 1, int.MaxValue),
                },
                _ => throw Bad(
                    key,
                    "is not a known setting (schedule, window, lookback, minLabels, driftShare, smallSampleMaxRows, "
                        + "minRowsForDrift, psiBins, drift, quality, retrain, baseline, feedbackPerKeyPerDay)"
                ),
            };
        }
        return o;
    }

    private static DriftColumnOptions DriftSettings(JsonElement e, string key)
    {
        try
        {
            return JsonSerializer.Deserialize<DriftColumnOptions>(e, Core.Json.Options) ?? new();
        }
        catch (JsonException ex)
        {
            throw Bad(key, $"is not valid ({ex.Message})");
        }
    }

    private static MonitoringBaseline BaselineSetting(JsonElement e, string key)
    {
        const string Expected =
            "must be \"serving\", \"previous-window\" or {\"dataset\": \"<version hash or prefix>\"}";
        if (e.ValueKind == JsonValueKind.String)
            return e.GetString() switch
            {
                "serving" => MonitoringBaseline.Serving,
                "previous-window" => new MonitoringBaseline(BaselineKind.PreviousWindow),
                var other => throw Bad(key, $"{Expected}, got \"{other}\""),
            };
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad(key, $"{Expected}, got {e.GetRawText()}");
        string? hash = null;
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name != "dataset")
                throw Bad($"{key}.{p.Name}", "is not a known setting (dataset)");
            hash = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
            if (
                hash is null
                || hash.Length is < 6 or > 64
                || !hash.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f')
            )
                throw Bad(
                    $"{key}.dataset",
                    $"must be a dataset version hash or a prefix of at least 6 of its lowercase hex digits, got {p.Value.GetRawText()}"
                );
        }
        return hash is null
            ? throw Bad($"{key}.dataset", "is required (the dataset version to compare with)")
            : new MonitoringBaseline(BaselineKind.Dataset, hash);
    }

    private static QualityThresholds QualitySettings(JsonElement e, string key)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad(key, "must be an object");
        var q = new QualityThresholds();
        foreach (var p in e.EnumerateObject())
        {
            string k = $"{key}.{p.Name}";
            double v = Number(p.Value, k, 0, 1);
            q = p.Name switch
            {
                "missingRateIncrease" => q with { MissingRateIncrease = v },
                "typeErrorRate" => q with { TypeErrorRate = v },
                "outOfRangeRate" => q with { OutOfRangeRate = v },
                "unseenCategoryRate" => q with { UnseenCategoryRate = v },
                _ => throw Bad(
                    k,
                    "is not a known limit (missingRateIncrease, typeErrorRate, outOfRangeRate, unseenCategoryRate)"
                ),
            };
        }
        return q;
    }

    private static RetrainOptions RetrainSettings(JsonElement e, string key)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad(key, "must be an object");
        var when = new List<RetrainCondition>();
        string trainOn = "accepted";
        var cooldown = TimeSpan.FromHours(6);
        int maxPerDay = 2;
        double maxFeedbackShare = RetrainOptions.DefaultMaxFeedbackShare;
        foreach (var p in e.EnumerateObject())
        {
            string k = $"{key}.{p.Name}";
            switch (p.Name)
            {
                case "when":
                    if (p.Value.ValueKind != JsonValueKind.Array)
                        throw Bad(k, "must be an array of conditions");
                    int i = 0;
                    foreach (var c in p.Value.EnumerateArray())
                        when.Add(Condition(c, $"{k}[{i++}]"));
                    break;
                case "trainOn":
                    trainOn = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : "";
                    if (!TrainOnValues.Contains(trainOn))
                        throw Bad(k, $"must be one of {string.Join(", ", TrainOnValues)}");
                    break;
                case "cooldown":
                    cooldown = Duration(p.Value, k);
                    break;
                case "maxPerDay":
                    maxPerDay = (int)Number(p.Value, k, 1, 1000);
                    break;
                case "maxFeedbackShare":
                    maxFeedbackShare = Number(p.Value, k, 0, 1);
                    break;
                default:
                    throw Bad(k, "is not a known setting (when, trainOn, cooldown, maxPerDay, maxFeedbackShare)");
            }
        }
        if (when.Count == 0)
            throw Bad($"{key}.when", "needs at least one condition");
        return new RetrainOptions(when, trainOn, cooldown, maxPerDay, maxFeedbackShare);
    }

    private static RetrainCondition Condition(JsonElement c, string key)
    {
        if (
            c.ValueKind != JsonValueKind.Object
            || !c.TryGetProperty("signal", out var sig)
            || sig.ValueKind != JsonValueKind.String
        )
            throw Bad(key, $"must be an object with a \"signal\" ({string.Join(", ", Signals)})");
        string signal = sig.GetString()!;
        string[] allowed = signal switch
        {
            "performance" => ["signal", "metric", "drop"],
            "data_drift" => ["signal", "share"],
            "attribution_drift" => ["signal", "share"],
            "schedule" => ["signal", "cron"],
            "new_labels" => ["signal", "count"],
            _ => throw Bad($"{key}.signal", $"'{signal}' is not a signal ({string.Join(", ", Signals)})"),
        };
        foreach (var p in c.EnumerateObject())
            if (!allowed.Contains(p.Name))
                throw Bad(
                    $"{key}.{p.Name}",
                    $"does not apply to signal '{signal}' (allowed: {string.Join(", ", allowed)})"
                );
        JsonElement Required(string name) =>
            c.TryGetProperty(name, out var v) ? v : throw Bad($"{key}.{name}", $"is required for signal '{signal}'");
        return signal switch
        {
            "performance" => new RetrainCondition(
                signal,
                Metric: Required("metric") is { ValueKind: JsonValueKind.String } m
                && m.GetString() is { Length: > 0 } ms
                    ? ms
                    : throw Bad($"{key}.metric", "must be a metric name such as auc, accuracy or rmse"),
                Drop: Number(Required("drop"), $"{key}.drop", 0, double.MaxValue)
            ),
            "data_drift" => new RetrainCondition(signal, Share: Number(Required("share"), $"{key}.share", 0, 1)),
            // The largest change of one column's share of total attribution (mean |SHAP|) since registration.
            "attribution_drift" => new RetrainCondition(signal, Share: Number(Required("share"), $"{key}.share", 0, 1)),
            "schedule" => new RetrainCondition(signal, Cron: Cron(Required("cron"), $"{key}.cron")),
            _ => new RetrainCondition(signal, Count: (long)Number(Required("count"), $"{key}.count", 1, long.MaxValue)),
        };
    }

    private static string Cron(JsonElement e, string key)
    {
        string? s = e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        if (s is null || s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 6)
            throw Bad(
                key,
                $"must be a 6-field NCRONTAB string (second minute hour day month day-of-week), got {e.GetRawText()}"
            );
        if (!CronSchedule.TryParse(s, out _, out string? why))
            throw Bad(key, $"'{s}' is not a valid NCRONTAB expression ({why})");
        return s;
    }

    private static TimeSpan Duration(JsonElement e, string key)
    {
        string? s = e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        TimeSpan d;
        try
        {
            d = s is { Length: > 1 } && s[0] == 'P' ? XmlConvert.ToTimeSpan(s) : throw new FormatException();
        }
        catch (FormatException)
        {
            throw Bad(key, $"must be an ISO-8601 duration such as \"PT6H\" or \"P1D\", got {e.GetRawText()}");
        }
        if (d <= TimeSpan.Zero)
            throw Bad(key, "must be a positive duration");
        return d;
    }

    private static double Number(JsonElement e, string key, double min, double max)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || v < min || v > max)
            throw Bad(
                key,
                $"must be a number in [{min}, {(max >= long.MaxValue ? "∞" : max.ToString(System.Globalization.CultureInfo.InvariantCulture))}], got {e.GetRawText()}"
            );
        return v;
    }

    private static MonitoringException Bad(string key, string problem) => new("monitoring.config", $"{key} {problem}.");
}
