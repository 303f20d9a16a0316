using Mlops.Registry.Gate;

namespace Mlops.Registry;

/// <summary>
/// Evaluation metrics of one model version: overall values (e.g. <c>auc</c>, <c>accuracy</c>, <c>rmse</c>) and,
/// optionally, the same metrics per data slice (e.g. <c>sex=female</c>) so the gate can refuse a model that is better
/// on average but worse for one group.
/// </summary>
/// <param name="Overall">Metric name → value on the whole held-out set.</param>
/// <param name="Slices">Slice name → (metric name → value); null when slices were not evaluated.</param>
/// <param name="EvaluatedRows">Rows the metrics were computed on, when known.</param>
/// <param name="EvaluationDataHash">Content hash of the held-out data, so two versions are compared on the same
/// data.</param>
public sealed record ModelMetrics(
    Dictionary<string, double> Overall,
    Dictionary<string, Dictionary<string, double>>? Slices = null,
    long? EvaluatedRows = null,
    string? EvaluationDataHash = null
)
{
    /// <summary>An empty metric set (a version registered before it was evaluated).</summary>
    public static ModelMetrics Empty => new(new Dictionary<string, double>());
}

/// <summary>
/// Where a model came from: the data, parameters, code and environment that produced it. Stored as
/// <c>models/{model}/v{N}/lineage.json</c> so any served version can be traced back and reproduced.
/// </summary>
public sealed record ModelLineage
{
    /// <summary>Dataset name the model was trained on.</summary>
    public string? Dataset { get; init; }

    /// <summary>Content hash (sha256) of the training data version.</summary>
    public string? DataHash { get; init; }

    /// <summary>Training (hyper)parameters as text, e.g. <c>learningRate=0.1</c>.</summary>
    public Dictionary<string, string> Params { get; init; } = new();

    /// <summary>Git commit or build id of the code that trained the model (see <see
    /// cref="EnvironmentInfo.CodeVersion"/>).</summary>
    public string? CodeVersion { get; init; }

    /// <summary>Runtime and package versions (e.g. <c>.NET</c>, <c>Mlops.ML</c>).</summary>
    public Dictionary<string, string> PackageVersions { get; init; } = new();

    /// <summary>When training finished.</summary>
    public DateTimeOffset? TrainedAt { get; init; }

    /// <summary>Wall-clock training time in seconds.</summary>
    public double? TrainingSeconds { get; init; }

    /// <summary>Machine (host name) that trained the model.</summary>
    public string? Machine { get; init; }

    /// <summary>The pipeline run / orchestration instance that produced the model.</summary>
    public string? RunId { get; init; }

    /// <summary>Learning task (<c>binary</c>, <c>multiclass</c>, <c>regression</c>) and algorithm, for
    /// display.</summary>
    public string? Task { get; init; }

    /// <summary>Algorithm name, e.g. <c>gbdt</c>.</summary>
    public string? Algorithm { get; init; }

    /// <summary>Feedback rows the version was trained on and who labelled them (null when it trained on accepted data
    /// only).</summary>
    public FeedbackLineage? Feedback { get; init; }

    /// <summary>A lineage filled with this process's code version, package versions and machine name.</summary>
    public static ModelLineage ForCurrentEnvironment() =>
        new()
        {
            CodeVersion = EnvironmentInfo.CodeVersion(),
            PackageVersions = EnvironmentInfo.PackageVersions(),
            Machine = Environment.MachineName,
            TrainedAt = DateTimeOffset.UtcNow,
        };
}

/// <summary>Labeled production rows in a training set, with their provenance: feedback is ground truth from key
/// holders, so a version records whose labels it learned from and when they arrived.</summary>
/// <param name="Blob">Where the rows are (<c>labels/{model}/training/{runId}.csv</c>).</param>
/// <param name="RowsOffered">Rows the monitor run supplied.</param>
/// <param name="RowsUsed">Rows admitted to training after the share cap.</param>
/// <param name="MaxShare">The share cap (<c>monitoring.retrain.maxFeedbackShare</c>).</param>
/// <param name="Sources">Per caller key: how many of the offered rows it labelled, first and last arrival.</param>
public sealed record FeedbackLineage(
    string Blob,
    int RowsOffered,
    int RowsUsed,
    double MaxShare,
    IReadOnlyList<FeedbackSource> Sources
);

/// <summary>One caller key's share of a training set's feedback rows.</summary>
/// <param name="Key">Fingerprint of the key (never the key), <c>drop</c> for the drop zone, <c>unrecorded</c> for
/// labels stored before provenance.</param>
/// <param name="Rows">Rows it labelled.</param>
/// <param name="FirstReceived">Earliest arrival of those labels.</param>
/// <param name="LastReceived">Latest arrival.</param>
public sealed record FeedbackSource(string Key, int Rows, DateTimeOffset FirstReceived, DateTimeOffset LastReceived);

/// <summary>What the pipeline hands to <see cref="ModelRegistry.RegisterAsync"/>.</summary>
/// <param name="Model">Model (usually dataset) name: letters, digits, <c>-</c>, <c>_</c>, <c>.</c>; at most 63
/// characters.</param>
/// <param name="ModelFile">The serialized model (<c>model.json</c>).</param>
/// <param name="Metrics">Evaluation metrics of this version.</param>
/// <param name="Lineage">Data, params, code and environment.</param>
/// <param name="IdempotencyKey">
/// The run id. Activities run at least once; registering twice with the same key returns the first version instead
/// of creating a second one.
/// </param>
/// <param name="Gate">The gate decision, when the pipeline already evaluated the candidate against production.</param>
/// <param name="Description">Free text shown in listings.</param>
public sealed record RegisterModelRequest(
    string Model,
    ReadOnlyMemory<byte> ModelFile,
    ModelMetrics? Metrics = null,
    ModelLineage? Lineage = null,
    string? IdempotencyKey = null,
    GateDecision? Gate = null,
    string? Description = null
);

/// <summary>Lifecycle of a version. Archived versions stay readable but cannot receive aliases or traffic.</summary>
public enum VersionStatus
{
    /// <summary>Usable: can be aliased, routed to and served.</summary>
    Active,

    /// <summary>Retired: kept for audit, not servable through aliases or traffic.</summary>
    Archived,
}

/// <summary>Manual approval state of a version (human-in-the-loop promotion).</summary>
public enum ApprovalState
{
    /// <summary>No decision requested or recorded.</summary>
    None,

    /// <summary>Waiting for a person.</summary>
    Pending,

    /// <summary>A person approved promotion.</summary>
    Approved,

    /// <summary>A person rejected promotion; <see cref="ModelRegistry.PromoteAsync"/> refuses the version.</summary>
    Rejected,
}

/// <summary>One registered model version as stored in the registry index.</summary>
public sealed record ModelVersion
{
    /// <summary>Model name.</summary>
    public required string Model { get; init; }

    /// <summary>Version number, 1, 2, 3… per model.</summary>
    public required int Version { get; init; }

    /// <summary>Active or archived.</summary>
    public VersionStatus Status { get; init; }

    /// <summary>When the version was registered.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Idempotency key (run id) it was registered with.</summary>
    public string? RunId { get; init; }

    /// <summary>Metrics at registration (or as later recorded).</summary>
    public ModelMetrics Metrics { get; init; } = ModelMetrics.Empty;

    /// <summary>Training data hash (also in lineage) for quick display.</summary>
    public string? DataHash { get; init; }

    /// <summary>Code version (also in lineage).</summary>
    public string? CodeVersion { get; init; }

    /// <summary>Blob path of <c>model.json</c> inside the models container.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Size of the model file in bytes.</summary>
    public long ModelBytes { get; init; }

    /// <summary>Evaluation gate decision, when recorded.</summary>
    public GateDecision? Gate { get; init; }

    /// <summary>Manual approval state.</summary>
    public ApprovalState Approval { get; init; }

    /// <summary>Who approved or rejected, and why.</summary>
    public string? ApprovalNote { get; init; }

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>Aliases pointing at this version (filled by listings).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
}

/// <summary>One route of a traffic split.</summary>
/// <param name="Version">Version that receives the traffic.</param>
/// <param name="Weight">Percentage 0..100; all routes sum to 100.</param>
public sealed record TrafficRoute(int Version, int Weight);

/// <summary>
/// Automatic rollback of a canary: when a version other than production, receiving traffic, exceeds the error rate or
/// latency over the last <see cref="WindowSeconds"/>, serving resets traffic to production and the history records why.
/// </summary>
public sealed record AutoRollbackPolicy
{
    /// <summary>Maximum share (0..1) of failed predictions before rollback; null disables the check.</summary>
    public double? MaxErrorRate { get; init; }

    /// <summary>Maximum 99th-percentile prediction latency in milliseconds; null disables the check.</summary>
    public double? MaxP99LatencyMs { get; init; }

    /// <summary>Requests the canary must have answered in the window before a verdict (avoids rolling back on
    /// noise).</summary>
    public int MinRequests { get; init; } = 50;

    /// <summary>Observation window in seconds.</summary>
    public int WindowSeconds { get; init; } = 60;
}

/// <summary>
/// How a model's requests are spread over versions: weighted routes (A/B, canary), shadow versions that see a copy of
/// the traffic but never answer, and an optional automatic rollback policy. Without routes, production answers all.
/// </summary>
public sealed record TrafficConfig
{
    /// <summary>Weighted routes; weights sum to 100. Empty = 100% to the <c>production</c> alias.</summary>
    public List<TrafficRoute> Routes { get; init; } = [];

    /// <summary>Versions that receive a mirrored copy of each request; their answers are logged, not
    /// returned.</summary>
    public List<int> Shadow { get; init; } = [];

    /// <summary>Optional automatic rollback for canary versions.</summary>
    public AutoRollbackPolicy? AutoRollback { get; init; }
}

/// <summary>Kinds of change recorded in the history.</summary>
public enum ChangeKind
{
    /// <summary>An alias was set or moved.</summary>
    SetAlias,

    /// <summary>An alias was removed.</summary>
    RemoveAlias,

    /// <summary>A version became production.</summary>
    Promote,

    /// <summary>Production returned to the previous production version.</summary>
    Rollback,

    /// <summary>The traffic split changed.</summary>
    Traffic,

    /// <summary>Serving reset a misbehaving canary's traffic.</summary>
    AutoRollback,

    /// <summary>A version was archived.</summary>
    Archive,

    /// <summary>A version was approved or rejected.</summary>
    Approval,
}

/// <summary>Who makes a change and why; recorded in the history.</summary>
/// <param name="Reason">Free text, e.g. "AUC +0.012 over v3" or "incident 42".</param>
/// <param name="Actor">User, pipeline instance or host that made the change.</param>
public sealed record ChangeContext(string? Reason = null, string? Actor = null);

/// <summary>
/// What serving reads: the aliases and traffic of one model at one revision. Stored in one table row so that a
/// promotion, rollback or traffic change is a single ETag-guarded write and every host sees it atomically.
/// </summary>
public sealed record ServingState
{
    /// <summary>Model name.</summary>
    public required string Model { get; init; }

    /// <summary>Monotonic change counter; each history entry carries the revision it produced.</summary>
    public long Revision { get; init; }

    /// <summary>ETag of the stored row (changes on every write).</summary>
    public string? ETag { get; init; }

    /// <summary>Alias → version.</summary>
    public IReadOnlyDictionary<string, int> Aliases { get; init; } = new Dictionary<string, int>();

    /// <summary>Traffic split; null = 100% production.</summary>
    public TrafficConfig? Traffic { get; init; }

    /// <summary>Production versions replaced by promotions, newest last (what rollback returns to).</summary>
    public IReadOnlyList<int> PreviousProduction { get; init; } = [];

    /// <summary>When the state last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The <c>production</c> alias, if set.</summary>
    public int? Production => Aliases.TryGetValue(ModelRegistry.ProductionAlias, out var v) ? v : null;

    /// <summary>The effective routes: the traffic split, or 100% production, or none.</summary>
    public IReadOnlyList<TrafficRoute> EffectiveRoutes =>
        Traffic is { Routes.Count: > 0 } t ? t.Routes
        : Production is int p ? [new TrafficRoute(p, 100)]
        : [];
}

/// <summary>One entry of the append-only change history.</summary>
public sealed record HistoryEntry
{
    /// <summary>Model name.</summary>
    public required string Model { get; init; }

    /// <summary>The state revision this change produced (1, 2, 3… without gaps).</summary>
    public long Revision { get; init; }

    /// <summary>When the change was committed.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>What kind of change.</summary>
    public ChangeKind Kind { get; init; }

    /// <summary>Alias affected, if any.</summary>
    public string? Alias { get; init; }

    /// <summary>Version before the change (alias target or production), if any.</summary>
    public int? FromVersion { get; init; }

    /// <summary>Version after the change, if any.</summary>
    public int? ToVersion { get; init; }

    /// <summary>Who made the change.</summary>
    public string? Actor { get; init; }

    /// <summary>Why.</summary>
    public string? Reason { get; init; }

    /// <summary>Aliases after the change (so "what served at time T" needs a single entry).</summary>
    public IReadOnlyDictionary<string, int> Aliases { get; init; } = new Dictionary<string, int>();

    /// <summary>Traffic after the change.</summary>
    public TrafficConfig? Traffic { get; init; }
}

/// <summary>A model with its versions, aliases and traffic.</summary>
public sealed record ModelDetails(string Model, IReadOnlyList<ModelVersion> Versions, ServingState State);

/// <summary>A row of the model listing.</summary>
public sealed record ModelSummary(
    string Model,
    int LatestVersion,
    int? Production,
    IReadOnlyDictionary<string, int> Aliases,
    DateTimeOffset? UpdatedAt
);

/// <summary>One metric compared between two versions.</summary>
/// <param name="Metric">Metric name (slice metrics are named <c>slice/metric</c>).</param>
/// <param name="A">Value of version A (null when absent).</param>
/// <param name="B">Value of version B.</param>
/// <param name="Delta">B − A.</param>
/// <param name="Better">Which version is better for this metric (<c>a</c>, <c>b</c>, <c>equal</c>), when the direction
/// is known.</param>
public sealed record MetricDelta(string Metric, double? A, double? B, double? Delta, string? Better);

/// <summary>Two versions' metrics side by side.</summary>
public sealed record VersionComparison(
    string Model,
    int A,
    int B,
    IReadOnlyList<MetricDelta> Metrics,
    string? DataHashA,
    string? DataHashB,
    string? CodeVersionA,
    string? CodeVersionB
);
