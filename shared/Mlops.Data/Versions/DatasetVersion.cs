using System.Text.Json.Serialization;
using Mlops.Data.Profiling;
using Mlops.Data.Tabular;
using Mlops.Data.Validation;

namespace Mlops.Data.Versions;

/// <summary>One stored dataset version (a row of the <c>datasetversions</c> index).</summary>
/// <param name="Dataset">Dataset name.</param>
/// <param name="Hash">Lower-case hex SHA-256 of the file's bytes — the version's identity.</param>
/// <param name="Sequence">1, 2, 3… in ingestion order within the dataset.</param>
/// <param name="Rows">Data rows (0 when malformed).</param>
/// <param name="Columns">Columns (0 when malformed).</param>
/// <param name="Bytes">File size.</param>
/// <param name="IngestedAt">When it was ingested.</param>
/// <param name="Outcome">Validation verdict.</param>
/// <param name="SourceName">Name of the ingested file (e.g. the incoming blob name).</param>
/// <param name="Errors">Error-severity anomalies.</param>
/// <param name="Warnings">Warning-severity anomalies.</param>
/// <param name="ReferenceHash">Version it was compared with (the previous usable one), if any.</param>
public sealed record DatasetVersion(
    string Dataset,
    string Hash,
    long Sequence,
    long Rows,
    int Columns,
    long Bytes,
    DateTimeOffset IngestedAt,
    ValidationOutcome Outcome,
    string? SourceName,
    int Errors,
    int Warnings,
    string? ReferenceHash
)
{
    /// <summary>Blob name of the data in the datasets container: <c>{dataset}/{hash}/data.csv</c>.</summary>
    public string DataBlob => DatasetStore.DataBlobName(Dataset, Hash);

    /// <summary>True when the version may be used for training (accepted or accepted with warnings).</summary>
    [JsonIgnore]
    public bool IsUsable => Outcome != ValidationOutcome.Quarantined;
}

/// <summary>What <see cref="DatasetStore.IngestAsync(string, ReadOnlyMemory{byte}, string?, IngestOptions?,
/// CancellationToken)"/> did.</summary>
/// <param name="Version">The version (new or existing).</param>
/// <param name="IsNew">False when identical bytes had been ingested before: nothing was written and the earlier verdict
/// stands.</param>
/// <param name="Report">Validation report (the stored one when not new).</param>
/// <param name="Profile">Profile (null for malformed files).</param>
public sealed record IngestResult(DatasetVersion Version, bool IsNew, ValidationReport Report, DataProfile? Profile)
{
    /// <summary>The version hash.</summary>
    public string Hash => Version.Hash;

    /// <summary>The verdict.</summary>
    public ValidationOutcome Outcome => Version.Outcome;

    /// <summary>True when the pipeline may continue to training.</summary>
    public bool CanTrain => Version.IsUsable;
}

/// <summary>Per-ingest settings (they come from the pipeline's mlops.json).</summary>
/// <param name="Label">Label column; defaults to the schema's.</param>
/// <param name="Validation">Validation thresholds; defaults to <see cref="ValidationOptions.Default"/>.</param>
/// <param name="Training">Task and split of the training that follows: data training would trip on is quarantined (see
/// <see cref="TrainingRequirements"/>).</param>
public sealed record IngestOptions(
    string? Label = null,
    ValidationOptions? Validation = null,
    TrainingRequirements? Training = null
);

/// <summary>Everything stored about one version: the index row, its profile and its validation report.</summary>
public sealed record DatasetVersionDetails(DatasetVersion Version, DataProfile? Profile, ValidationReport? Validation);

/// <summary>How the training set is built from versions.</summary>
public enum TrainingSetMode
{
    /// <summary>The newest usable version alone (default).</summary>
    [JsonStringEnumMemberName("replace")]
    Replace,

    /// <summary>The union of usable versions since a cutoff (time or version), oldest first.</summary>
    [JsonStringEnumMemberName("append")]
    Append,
}

/// <summary>Which versions make up a training set.</summary>
/// <param name="Mode">Replace or append.</param>
/// <param name="Since">Append: only versions ingested at or after this time.</param>
/// <param name="SinceHash">Append: only this version and later ones (by sequence).</param>
public sealed record TrainingSetRequest(
    TrainingSetMode Mode = TrainingSetMode.Replace,
    DateTimeOffset? Since = null,
    string? SinceHash = null
);

/// <summary>
/// The persisted description of a training set, stored at <c>datasets/{dataset}/trainingsets/{id}.json</c>: record
/// <see cref="Id"/> in the model's lineage and the exact versions can always be recovered.
/// </summary>
/// <param name="Dataset">Dataset.</param>
/// <param name="Id">For replace, the version hash; for append, <c>set-</c> + SHA-256 of the ordered hashes.</param>
/// <param name="Mode">How it was built.</param>
/// <param name="Hashes">Versions, oldest first.</param>
/// <param name="Rows">Total rows.</param>
/// <param name="CreatedAt">When it was first assembled.</param>
public sealed record TrainingSetManifest(
    string Dataset,
    string Id,
    TrainingSetMode Mode,
    IReadOnlyList<string> Hashes,
    long Rows,
    DateTimeOffset CreatedAt
);

/// <summary>A training set: its manifest and the data.</summary>
public sealed record TrainingSet(TrainingSetManifest Manifest, DataTable Table)
{
    /// <summary>The id to record in model lineage.</summary>
    public string Id => Manifest.Id;
}

/// <summary>One line of the dataset listing (<c>GET /api/datasets</c>): how many versions, the newest one, how many
/// were quarantined.</summary>
/// <param name="Name">Dataset name.</param>
/// <param name="Versions">Number of versions, quarantined ones included.</param>
/// <param name="LatestHash">Hash of the newest version (highest sequence).</param>
/// <param name="LatestIngestedAt">When the newest version was ingested.</param>
/// <param name="Quarantined">Versions whose validation quarantined them.</param>
public sealed record DatasetSummary(
    string Name,
    int Versions,
    string LatestHash,
    DateTimeOffset LatestIngestedAt,
    int Quarantined
)
{
    /// <summary>One summary per dataset among <paramref name="versions"/>, ordered by name.</summary>
    public static IReadOnlyList<DatasetSummary> Summarize(IEnumerable<DatasetVersion> versions) =>
        versions
            .GroupBy(v => v.Dataset, StringComparer.Ordinal)
            .Select(g =>
            {
                var latest = g.MaxBy(v => v.Sequence)!;
                return new DatasetSummary(
                    g.Key,
                    g.Count(),
                    latest.Hash,
                    latest.IngestedAt,
                    g.Count(v => v.Outcome == ValidationOutcome.Quarantined)
                );
            })
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
}
