using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Core.Naming;
using Mlops.Core.Storage;
using Mlops.Data.Profiling;
using Mlops.Data.Schema;
using Mlops.Data.Tabular;
using Mlops.Data.Validation;

namespace Mlops.Data.Versions;

/// <summary>Settings of a <see cref="DatasetStore"/>.</summary>
public sealed record DatasetStoreOptions
{
    /// <summary>Blob container holding versions, profiles, reports and schemas.</summary>
    public string DatasetsContainer { get; init; } = "datasets";

    /// <summary>Blob container receiving copies of failed versions.</summary>
    public string QuarantineContainer { get; init; } = "quarantine";

    /// <summary>Table indexing versions (PK dataset, RK hash).</summary>
    public string VersionsTable { get; init; } = "datasetversions";

    /// <summary>A physical line longer than this is reported as malformed before parsing (bytes).</summary>
    public int MaxLineBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Default of <see cref="MaxColumns"/>.</summary>
    public const int DefaultMaxColumns = 10_000;

    /// <summary>
    /// Most columns a file may have (default 10,000); a wider file is quarantined with a <c>too_many_columns</c>
    /// anomaly before it is parsed. Profiling and validation cost grows with the column count, and a tabular model of
    /// more columns than this is almost always a file exported the wrong way round.
    /// </summary>
    public int MaxColumns { get; init; } = DefaultMaxColumns;

    /// <summary>Keep the last usable version's table in memory so the next ingest compares against it without
    /// re-reading.</summary>
    public bool CacheReference { get; init; } = true;

    /// <summary>Checks the settings; throws <see cref="DataException"/> (<c>data.options</c>).</summary>
    public DatasetStoreOptions Validate()
    {
        foreach (
            var (n, v) in new[]
            {
                ("datasetsContainer", DatasetsContainer),
                ("quarantineContainer", QuarantineContainer),
            }
        )
            if (string.IsNullOrWhiteSpace(v) || !Regex.IsMatch(v, "^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$"))
                throw new DataException("data.options", $"{n} '{v}' is not a valid blob container name.");
        if (string.IsNullOrWhiteSpace(VersionsTable) || !Regex.IsMatch(VersionsTable, "^[A-Za-z][A-Za-z0-9]{2,62}$"))
            throw new DataException("data.options", $"versionsTable '{VersionsTable}' is not a valid table name.");
        if (MaxLineBytes < 1024)
            throw new DataException("data.options", "maxLineBytes must be at least 1024.");
        if (MaxColumns < 1)
            throw new DataException("data.options", "maxColumns must be at least 1.");
        return this;
    }
}

/// <summary>
/// Content-addressed dataset versions with profiles, validation, quarantine and alerts — the data side of the pipeline.
/// </summary>
/// <remarks>
/// <para>Layout (blob container <c>datasets</c>): <c>{dataset}/{sha256}/data.csv</c>, <c>profile.json</c>,
/// <c>validation.json</c>; <c>{dataset}/schema.json</c> (editable); <c>{dataset}/trainingsets/{id}.json</c>.
/// Failed versions are also copied to container <c>quarantine</c> as <c>{dataset}/{sha256}/data.csv +
/// validation.json</c>. Index: table <c>datasetversions</c>, PK = dataset, RK = hash (the hash as key makes the insert
/// itself the de-duplication lock), with a per-dataset sequence counter row <c>~sequence</c> updated in the same atomic
/// batch.</para>
/// <para>Nothing is ever deleted. Every step is idempotent (deterministic names, create-only writes), so an activity
/// retried after a crash converges on the same version.</para>
/// </remarks>
public sealed partial class DatasetStore
{
    private const string CounterRowKey = "~sequence";
    private static readonly Regex HashPattern = new("^[0-9a-f]{64}$", RegexOptions.Compiled);

    private readonly IBlobStore _blobs;
    private readonly ITableStore _tables;
    private readonly ITableParser _parser;
    private readonly DatasetStoreOptions _options;
    private readonly IClock _clock;
    private readonly Lock _cacheLock = new();
    private (string Dataset, string Hash, DataTable Table, DataProfile Profile)? _reference;

    /// <summary>Creates a store over the storage ports.</summary>
    /// <param name="blobs">Blob port (Azure or in-memory).</param>
    /// <param name="tables">Table port.</param>
    /// <param name="parser">File parser; default <see cref="CsvTableParser.Default"/>.</param>
    /// <param name="options">Names and limits; validated here.</param>
    /// <param name="clock">Time source (tests).</param>
    public DatasetStore(
        IBlobStore blobs,
        ITableStore tables,
        ITableParser? parser = null,
        DatasetStoreOptions? options = null,
        IClock? clock = null
    )
    {
        _blobs = blobs ?? throw new ArgumentNullException(nameof(blobs));
        _tables = tables ?? throw new ArgumentNullException(nameof(tables));
        _parser = parser ?? CsvTableParser.Default;
        _options = (options ?? new DatasetStoreOptions()).Validate();
        _clock = clock ?? SystemClock.Instance;
    }

    /// <summary>The settings in use.</summary>
    public DatasetStoreOptions Options => _options;

    // ------------------------------------------------------------------ names

    /// <summary><c>{dataset}/{hash}/data.csv</c> in the datasets container.</summary>
    public static string DataBlobName(string dataset, string hash) =>
        $"{CheckedName(dataset)}/{CheckedHash(hash)}/data.csv";

    /// <summary><c>{dataset}/{hash}/profile.json</c>.</summary>
    public static string ProfileBlobName(string dataset, string hash) =>
        $"{CheckedName(dataset)}/{CheckedHash(hash)}/profile.json";

    /// <summary><c>{dataset}/{hash}/validation.json</c> (same name in quarantine).</summary>
    public static string ValidationBlobName(string dataset, string hash) =>
        $"{CheckedName(dataset)}/{CheckedHash(hash)}/validation.json";

    /// <summary><c>{dataset}/schema.json</c>.</summary>
    public static string SchemaBlobName(string dataset) => $"{CheckedName(dataset)}/schema.json";

    /// <summary><c>{dataset}/trainingsets/{id}.json</c>; the id is a version hash or <c>set-</c> and a hash.</summary>
    public static string TrainingSetBlobName(string dataset, string id) =>
        $"{CheckedName(dataset)}/trainingsets/{(id is not null && id.StartsWith("set-", StringComparison.Ordinal) ? "set-" + CheckedHash(id[4..]) : CheckedHash(id!))}.json";

    /// <summary>Lower-case hex SHA-256 of <paramref name="data"/> — a version's identity.</summary>
    public static string ComputeHash(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// Throws a 400 <see cref="MlopsException"/> (<see cref="DatasetName.InvalidCode"/>) unless the name follows the
    /// one dataset-name rule (<see cref="DatasetName.Rule"/>).
    /// </summary>
    public static void ValidateDatasetName(string dataset) => DatasetName.Parse(dataset);

    // Every blob path is built from validated parts, so no caller's string can add a '/', '..' or another container.
    private static string CheckedName(string dataset) => DatasetName.Parse(dataset).Value;

    private static string CheckedHash(string hash)
    {
        ValidateHash(hash);
        return hash;
    }

    private static void ValidateHash(string hash)
    {
        if (hash is null || !HashPattern.IsMatch(hash))
            throw new DataException("data.invalid_hash", $"'{hash}' is not a version hash (64 lower-case hex digits).");
    }

    // ------------------------------------------------------------------ queries

    /// <summary>The version's index row, or null.</summary>
    public async Task<DatasetVersion?> GetVersionAsync(
        string dataset,
        string hash,
        CancellationToken cancellationToken = default
    )
    {
        ValidateDatasetName(dataset);
        ValidateHash(hash);
        var row = await _tables
            .GetAsync(_options.VersionsTable, dataset, hash, cancellationToken)
            .ConfigureAwait(false);
        return row is null ? null : FromRow(row);
    }

    /// <summary>All versions of a dataset, newest first (empty when the dataset is unknown).</summary>
    public async Task<IReadOnlyList<DatasetVersion>> ListVersionsAsync(
        string dataset,
        CancellationToken cancellationToken = default
    )
    {
        ValidateDatasetName(dataset);
        var rows = await _tables
            .QueryAsync(_options.VersionsTable, dataset, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return rows.Where(r => r.RowKey != CounterRowKey).Select(FromRow).OrderByDescending(v => v.Sequence).ToList();
    }

    /// <summary>
    /// The versions of a dataset that exists, newest first (quarantined ones included): what <c>GET
    /// /api/datasets/{dataset}</c> answers. A dataset that never received a file is a typed not-found, not an empty
    /// list that looks like one that did.
    /// </summary>
    /// <exception cref="Core.Errors.NotFoundException"><c>dataset.not_found</c> when no version was ever
    /// ingested.</exception>
    public async Task<IReadOnlyList<DatasetVersion>> GetVersionsAsync(
        string dataset,
        CancellationToken cancellationToken = default
    )
    {
        var versions = await ListVersionsAsync(dataset, cancellationToken).ConfigureAwait(false);
        return versions.Count > 0
            ? versions
            : throw new Core.Errors.NotFoundException(
                "dataset.not_found",
                $"Dataset '{dataset}' has no versions: drop a CSV file at incoming/{dataset}/ to create it."
            );
    }

    /// <summary>Every dataset with its version count, newest version and quarantined count, by name. One scan of the
    /// version index (one row per version plus a counter per dataset), no blob read.</summary>
    public async Task<IReadOnlyList<DatasetSummary>> ListDatasetsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await _tables.QueryAllAsync(_options.VersionsTable, cancellationToken).ConfigureAwait(false);
        return DatasetSummary.Summarize(rows.Where(r => r.RowKey != CounterRowKey).Select(FromRow));
    }

    /// <summary>Index row, profile and validation report of one version, or null when it does not exist.</summary>
    public async Task<DatasetVersionDetails?> GetVersionDetailsAsync(
        string dataset,
        string hash,
        CancellationToken cancellationToken = default
    )
    {
        var v = await GetVersionAsync(dataset, hash, cancellationToken).ConfigureAwait(false);
        if (v is null)
            return null;
        return new DatasetVersionDetails(
            v,
            await GetProfileAsync(dataset, hash, cancellationToken).ConfigureAwait(false),
            await GetReportAsync(dataset, hash, cancellationToken).ConfigureAwait(false)
        );
    }

    /// <summary>The stored profile, or null.</summary>
    public Task<DataProfile?> GetProfileAsync(
        string dataset,
        string hash,
        CancellationToken cancellationToken = default
    ) => ReadJsonAsync<DataProfile>(_options.DatasetsContainer, ProfileBlobName(dataset, hash), cancellationToken);

    /// <summary>The stored validation report, or null.</summary>
    public Task<ValidationReport?> GetReportAsync(
        string dataset,
        string hash,
        CancellationToken cancellationToken = default
    ) =>
        ReadJsonAsync<ValidationReport>(
            _options.DatasetsContainer,
            ValidationBlobName(dataset, hash),
            cancellationToken
        );

    /// <summary>The newest version that may be used for training (accepted or warning), or null.</summary>
    public async Task<DatasetVersion?> LatestUsableAsync(
        string dataset,
        CancellationToken cancellationToken = default
    ) => (await ListVersionsAsync(dataset, cancellationToken).ConfigureAwait(false)).FirstOrDefault(v => v.IsUsable);

    /// <summary>Reads and parses a stored version.</summary>
    /// <exception cref="DataException">Unknown version (<c>data.version_not_found</c>) or unreadable
    /// (<c>data.malformed</c>).</exception>
    public async Task<DataTable> LoadTableAsync(
        string dataset,
        string hash,
        CancellationToken cancellationToken = default
    )
    {
        ValidateDatasetName(dataset);
        ValidateHash(hash);
        lock (_cacheLock)
            if (_reference is { } c && c.Dataset == dataset && c.Hash == hash)
                return c.Table;
        var blob = await _blobs
            .ReadAsync(_options.DatasetsContainer, DataBlobName(dataset, hash), cancellationToken)
            .ConfigureAwait(false)
            ?? throw NotFound(dataset, hash);
        return _parser.Parse(blob.Data);
    }

    /// <summary>Parses CSV bytes the way stored versions are parsed (rows that are not a dataset version, e.g. labeled
    /// production rows).</summary>
    public DataTable ParseTable(byte[] csv) => _parser.Parse(csv);

    // ------------------------------------------------------------------ schema

    /// <summary>The dataset's schema (inferred or user-edited), or null before the first usable version.</summary>
    public Task<DatasetSchema?> GetSchemaAsync(string dataset, CancellationToken cancellationToken = default)
    {
        ValidateDatasetName(dataset);
        return ReadJsonAsync<DatasetSchema>(_options.DatasetsContainer, SchemaBlobName(dataset), cancellationToken);
    }

    /// <summary>
    /// Replaces the schema (after <see cref="DatasetSchema.Validate"/>); the next ingest validates against it. When the
    /// current schema has a label, the new one must name a label column too: without it every later drop would be
    /// quarantined for a missing label.
    /// </summary>
    /// <exception cref="DataException"><c>data.schema</c> when the document is invalid.</exception>
    public async Task SaveSchemaAsync(
        string dataset,
        DatasetSchema schema,
        CancellationToken cancellationToken = default
    )
    {
        ValidateDatasetName(dataset);
        ArgumentNullException.ThrowIfNull(schema);
        var s = (schema with { Dataset = dataset }).Validate();
        if (
            s.Label is null
            && await GetSchemaAsync(dataset, cancellationToken).ConfigureAwait(false) is { Label: { } current }
        )
            throw new DataException(
                "data.schema",
                $"Invalid schema: it has no label; the dataset's label is '{current}' (set \"label\" and keep its column)."
            );
        await _blobs
            .WriteAsync(
                _options.DatasetsContainer,
                SchemaBlobName(dataset),
                Json.SerializeToUtf8(s, indented: true),
                default,
                cancellationToken
            )
            .ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ helpers

    private async Task<T?> ReadJsonAsync<T>(string container, string name, CancellationToken ct)
        where T : class
    {
        var blob = await _blobs.ReadAsync(container, name, ct).ConfigureAwait(false);
        if (blob is null)
            return null;
        try
        {
            return Json.Deserialize<T>(blob.Data);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new DataException(
                "data.corrupt_document",
                $"{container}/{name} is not valid JSON for {typeof(T).Name}: {ex.Message}",
                500,
                ex
            );
        }
    }

    private static DataException NotFound(string dataset, string hash) =>
        new("data.version_not_found", $"Dataset '{dataset}' has no version {hash}.", 404);

    private static TableRow ToRow(DatasetVersion v) =>
        new(
            v.Dataset,
            v.Hash,
            new Dictionary<string, object?>
            {
                ["Sequence"] = v.Sequence,
                ["Rows"] = v.Rows,
                ["Columns"] = v.Columns,
                ["Bytes"] = v.Bytes,
                ["IngestedAt"] = v.IngestedAt,
                ["Outcome"] = v.Outcome.ToString(),
                ["SourceName"] = v.SourceName,
                ["Errors"] = v.Errors,
                ["Warnings"] = v.Warnings,
                ["ReferenceHash"] = v.ReferenceHash,
            }
                .Where(kv => kv.Value is not null)
                .ToDictionary()
        );

    private static DatasetVersion FromRow(TableRow r) =>
        new(
            r.PartitionKey,
            r.RowKey,
            r.GetLong("Sequence") ?? 0,
            r.GetLong("Rows") ?? 0,
            (int)(r.GetLong("Columns") ?? 0),
            r.GetLong("Bytes") ?? 0,
            r.GetDate("IngestedAt") ?? r.Timestamp ?? default,
            Enum.TryParse<ValidationOutcome>(r.GetString("Outcome"), out var o) ? o : ValidationOutcome.Quarantined,
            r.GetString("SourceName"),
            (int)(r.GetLong("Errors") ?? 0),
            (int)(r.GetLong("Warnings") ?? 0),
            r.GetString("ReferenceHash")
        );
}
