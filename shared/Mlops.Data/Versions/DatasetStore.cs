using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Core.Naming;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;
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

    /// <summary>Keep the last usable version's table in memory so the next ingest compares against it without re-reading.</summary>
    public bool CacheReference { get; init; } = true;

    /// <summary>Checks the settings; throws <see cref="DataException"/> (<c>data.options</c>).</summary>
    public DatasetStoreOptions Validate()
    {
        foreach (var (n, v) in new[] { ("datasetsContainer", DatasetsContainer), ("quarantineContainer", QuarantineContainer) })
            if (string.IsNullOrWhiteSpace(v) || !Regex.IsMatch(v, "^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$"))
                throw new DataException("data.options", $"{n} '{v}' is not a valid blob container name.");
        if (string.IsNullOrWhiteSpace(VersionsTable) || !Regex.IsMatch(VersionsTable, "^[A-Za-z][A-Za-z0-9]{2,62}$"))
            throw new DataException("data.options", $"versionsTable '{VersionsTable}' is not a valid table name.");
        if (MaxLineBytes < 1024) throw new DataException("data.options", "maxLineBytes must be at least 1024.");
        return this;
    }
}

/// <summary>
/// Content-addressed dataset versions with profiles, validation, quarantine and alerts — the data side of the pipeline.
/// </summary>
/// <remarks>
/// <para>Layout (blob container <c>datasets</c>): <c>{dataset}/{sha256}/data.csv</c>, <c>profile.json</c>,
/// <c>validation.json</c>; <c>{dataset}/schema.json</c> (editable); <c>{dataset}/trainingsets/{id}.json</c>.
/// Failed versions are also copied to container <c>quarantine</c> as <c>{dataset}/{sha256}/data.csv + validation.json</c>.
/// Index: table <c>datasetversions</c>, PK = dataset, RK = hash (the hash as key makes the insert itself the
/// de-duplication lock), with a per-dataset sequence counter row <c>~sequence</c> updated in the same atomic batch.</para>
/// <para>Nothing is ever deleted. Every step is idempotent (deterministic names, create-only writes), so an activity
/// retried after a crash converges on the same version.</para>
/// </remarks>
public sealed class DatasetStore
{
    private const string CounterRowKey = "~sequence";
    private static readonly Regex HashPattern = new("^[0-9a-f]{64}$", RegexOptions.Compiled);

    private readonly IBlobStore _blobs;
    private readonly ITableStore _tables;
    private readonly ITableParser _parser;
    private readonly IAlertSink _alerts;
    private readonly DatasetStoreOptions _options;
    private readonly IClock _clock;
    private readonly Lock _cacheLock = new();
    private (string Dataset, string Hash, DataTable Table, DataProfile Profile)? _reference;

    /// <summary>Creates a store over the storage ports.</summary>
    /// <param name="blobs">Blob port (Azure or in-memory).</param>
    /// <param name="tables">Table port.</param>
    /// <param name="parser">File parser; default <see cref="CsvTableParser.Default"/>.</param>
    /// <param name="alerts">Alert sink for quarantines; default none.</param>
    /// <param name="options">Names and limits; validated here.</param>
    /// <param name="clock">Time source (tests).</param>
    public DatasetStore(IBlobStore blobs, ITableStore tables, ITableParser? parser = null, IAlertSink? alerts = null,
        DatasetStoreOptions? options = null, IClock? clock = null)
    {
        _blobs = blobs ?? throw new ArgumentNullException(nameof(blobs));
        _tables = tables ?? throw new ArgumentNullException(nameof(tables));
        _parser = parser ?? CsvTableParser.Default;
        _alerts = alerts ?? NullAlertSink.Instance;
        _options = (options ?? new DatasetStoreOptions()).Validate();
        _clock = clock ?? SystemClock.Instance;
    }

    /// <summary>The settings in use.</summary>
    public DatasetStoreOptions Options => _options;

    // ------------------------------------------------------------------ names

    /// <summary><c>{dataset}/{hash}/data.csv</c> in the datasets container.</summary>
    public static string DataBlobName(string dataset, string hash) => $"{CheckedName(dataset)}/{CheckedHash(hash)}/data.csv";
    /// <summary><c>{dataset}/{hash}/profile.json</c>.</summary>
    public static string ProfileBlobName(string dataset, string hash) => $"{CheckedName(dataset)}/{CheckedHash(hash)}/profile.json";
    /// <summary><c>{dataset}/{hash}/validation.json</c> (same name in quarantine).</summary>
    public static string ValidationBlobName(string dataset, string hash) => $"{CheckedName(dataset)}/{CheckedHash(hash)}/validation.json";
    /// <summary><c>{dataset}/schema.json</c>.</summary>
    public static string SchemaBlobName(string dataset) => $"{CheckedName(dataset)}/schema.json";
    /// <summary><c>{dataset}/trainingsets/{id}.json</c>; the id is a version hash or <c>set-</c> and a hash.</summary>
    public static string TrainingSetBlobName(string dataset, string id) =>
        $"{CheckedName(dataset)}/trainingsets/{(id is not null && id.StartsWith("set-", StringComparison.Ordinal) ? "set-" + CheckedHash(id[4..]) : CheckedHash(id!))}.json";

    /// <summary>Lower-case hex SHA-256 of <paramref name="data"/> — a version's identity.</summary>
    public static string ComputeHash(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// Throws a 400 <see cref="MlopsException"/> (<see cref="DatasetName.InvalidCode"/>) unless the name follows the one
    /// dataset-name rule (<see cref="DatasetName.Rule"/>).
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

    // ------------------------------------------------------------------ ingest

    /// <summary>Reads <paramref name="content"/> fully and ingests it (see the byte overload).</summary>
    public async Task<IngestResult> IngestAsync(string dataset, Stream content, string? sourceName = null, IngestOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var ms = content.CanSeek ? new MemoryStream(checked((int)Math.Max(0, content.Length - content.Position))) : new MemoryStream();
        await content.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
        return await IngestAsync(dataset, ms.GetBuffer().AsMemory(0, (int)ms.Length), sourceName, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores a file as a content-addressed version, profiles it, validates it against the schema (inferring one from
    /// the first usable version) and the previous usable version, quarantines and alerts on failure, and indexes it.
    /// Identical bytes ingested again return the earlier version with <see cref="IngestResult.IsNew"/> false.
    /// Bad files never throw: they come back quarantined with a <c>malformed</c> anomaly naming the line.
    /// </summary>
    /// <param name="dataset">Dataset name (see <see cref="ValidateDatasetName"/>).</param>
    /// <param name="data">File bytes (UTF-8 CSV with header).</param>
    /// <param name="sourceName">Where the file came from (incoming blob name), recorded in the index.</param>
    /// <param name="options">Label and validation thresholds from the pipeline configuration.</param>
    /// <param name="cancellationToken">Cancels storage calls.</param>
    /// <exception cref="DataException">Invalid dataset name or options.</exception>
    public async Task<IngestResult> IngestAsync(string dataset, ReadOnlyMemory<byte> data, string? sourceName = null, IngestOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ValidateDatasetName(dataset);
        var vo = (options?.Validation ?? ValidationOptions.Default).Validate();
        string hash = ComputeHash(data.Span);

        var existing = await GetVersionAsync(dataset, hash, cancellationToken).ConfigureAwait(false);
        if (existing is not null) return await ExistingResultAsync(existing, cancellationToken).ConfigureAwait(false);

        var schema = await GetSchemaAsync(dataset, cancellationToken).ConfigureAwait(false);
        var reference = await LatestUsableAsync(dataset, cancellationToken).ConfigureAwait(false);
        var (table, profile, report, inferredSchema) = await AnalyzeAsync(dataset, hash, data, schema, reference, options?.Label, vo, options?.Training, cancellationToken).ConfigureAwait(false);
        report = report with { Dataset = dataset, Hash = hash, ReferenceHash = table is null ? null : reference?.Hash, CreatedAt = _clock.UtcNow };

        // Artifacts first, index row last: a crash in between leaves only re-creatable blobs and no half-visible version.
        if (profile is not null)
            await _blobs.WriteAsync(_options.DatasetsContainer, ProfileBlobName(dataset, hash), Json.SerializeToUtf8(profile, indented: true), default, cancellationToken).ConfigureAwait(false);
        await _blobs.WriteAsync(_options.DatasetsContainer, ValidationBlobName(dataset, hash), Json.SerializeToUtf8(report, indented: true), default, cancellationToken).ConfigureAwait(false);
        // The data goes after the small documents: those create the container when it is new, which a multi-block upload
        // through the Azure adapter does not do by itself (its ContainerNotFound arrives wrapped in an AggregateException).
        await WriteOnceAsync(_options.DatasetsContainer, DataBlobName(dataset, hash), data, cancellationToken).ConfigureAwait(false);
        if (report.IsQuarantined)
            await CopyToQuarantineAsync(dataset, hash, data, report, cancellationToken).ConfigureAwait(false);
        else if (inferredSchema is not null)
            await SaveInferredSchemaAsync(dataset, inferredSchema, cancellationToken).ConfigureAwait(false);

        var version = new DatasetVersion(dataset, hash, 0, table?.RowCount ?? 0, table?.Columns.Count ?? 0, data.Length, _clock.UtcNow,
            report.Outcome, sourceName, report.Errors.Count(), report.Anomalies.Count(a => a.Severity == Severity.Warning), report.ReferenceHash);
        var (stored, isNew) = await InsertIndexAsync(version, cancellationToken).ConfigureAwait(false);
        if (!isNew) return await ExistingResultAsync(stored, cancellationToken).ConfigureAwait(false);

        if (_options.CacheReference && stored.IsUsable && table is not null && profile is not null)
            lock (_cacheLock) _reference = (dataset, hash, table, profile);

        if (report.IsQuarantined || (vo.AlertOnWarning && report.Outcome == ValidationOutcome.Warning))
            await AlertAsync(stored, report, cancellationToken).ConfigureAwait(false);
        return new IngestResult(stored, true, report, profile);
    }

    /// <summary>
    /// Parses, profiles and validates one file. Malformed input becomes a report, never an exception. Returns the schema
    /// it inferred when the dataset had none (to be saved only if the version is usable).
    /// </summary>
    private async Task<(DataTable? Table, DataProfile? Profile, ValidationReport Report, DatasetSchema? InferredSchema)> AnalyzeAsync(
        string dataset, string hash, ReadOnlyMemory<byte> data, DatasetSchema? schema, DatasetVersion? reference, string? label,
        ValidationOptions vo, TrainingRequirements? training, CancellationToken ct)
    {
        if (PreCheck(data.Span, _options.MaxLineBytes) is { } bad)
            return (null, null, DataValidator.Malformed(bad.Message, bad.Line), null);
        DataTable table;
        try { table = _parser.Parse(data); }
        catch (DataException ex) when (ex.Code == "data.malformed") { return (null, null, DataValidator.Malformed(ex.Message, ex.Line), null); }

        label ??= schema?.Label;
        var profile = DataProfiler.Profile(table, label);
        DatasetSchema? inferred = schema is null ? SchemaInference.Infer(profile, vo, dataset, hash) : null;
        var (refTable, refProfile) = reference is null ? (null, null) : await LoadReferenceAsync(reference, ct).ConfigureAwait(false);
        var report = DataValidator.Validate(table, profile, schema ?? inferred!, refTable, refProfile, vo, label, training);
        return (table, profile, report, inferred);
    }

    private async Task<IngestResult> ExistingResultAsync(DatasetVersion v, CancellationToken ct)
    {
        var report = await GetReportAsync(v.Dataset, v.Hash, ct).ConfigureAwait(false)
            ?? new ValidationReport { Dataset = v.Dataset, Hash = v.Hash, Outcome = v.Outcome, RowCount = v.Rows };
        var profile = await GetProfileAsync(v.Dataset, v.Hash, ct).ConfigureAwait(false);
        return new IngestResult(v, false, report, profile);
    }

    /// <summary>Cheap byte-level checks that give better messages than a parser would: empty, binary, bad UTF-8, huge lines.</summary>
    internal static (string Message, long? Line)? PreCheck(ReadOnlySpan<byte> data, int maxLineBytes)
    {
        if (data.IsEmpty) return ("The file is empty (0 bytes).", null);
        int nul = data.IndexOf((byte)0);
        if (nul >= 0)
        {
            long line = LineOf(data, nul);
            return ($"Line {line}: the file contains binary data (a NUL byte at offset {nul}); expected UTF-8 CSV text.", line);
        }
        if (!System.Text.Unicode.Utf8.IsValid(data))
        {
            int at = FirstInvalidUtf8(data);
            long line = LineOf(data, at);
            return ($"Line {line}: invalid UTF-8 byte 0x{data[at]:X2} at offset {at}; save the file as UTF-8.", line);
        }
        long lineNo = 1;
        int start = 0;
        while (start < data.Length)
        {
            int nl = data[start..].IndexOf((byte)'\n');
            int len = nl < 0 ? data.Length - start : nl;
            if (len > maxLineBytes)
                return (string.Create(CultureInfo.InvariantCulture, $"Line {lineNo}: the line is {len:N0} bytes long (limit {maxLineBytes:N0}); the file is probably not line-oriented CSV or has an unclosed quote."), lineNo);
            if (nl < 0) break;
            start += nl + 1;
            lineNo++;
        }
        return null;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> data)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (Rune.DecodeFromUtf8(data[i..], out _, out int consumed) != System.Buffers.OperationStatus.Done) return i;
            i += consumed;
        }
        return Math.Max(0, data.Length - 1);
    }

    private static long LineOf(ReadOnlySpan<byte> data, int offset) => data[..offset].Count((byte)'\n') + 1;

    private async Task<(DataTable?, DataProfile?)> LoadReferenceAsync(DatasetVersion reference, CancellationToken ct)
    {
        lock (_cacheLock)
            if (_reference is { } c && c.Dataset == reference.Dataset && c.Hash == reference.Hash) return (c.Table, c.Profile);
        var profile = await GetProfileAsync(reference.Dataset, reference.Hash, ct).ConfigureAwait(false);
        var table = await LoadTableAsync(reference.Dataset, reference.Hash, ct).ConfigureAwait(false);
        return (table, profile ?? DataProfiler.Profile(table));
    }

    private async Task<(DatasetVersion Version, bool IsNew)> InsertIndexAsync(DatasetVersion v, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            var counter = await _tables.GetAsync(_options.VersionsTable, v.Dataset, CounterRowKey, ct).ConfigureAwait(false);
            if (counter is null)
            {
                // Create the counter with a single insert first: it also creates the table, which a batch on a missing
                // table cannot do portably (Azurite answers a bare 404 for it). A lost race just means someone else made it.
                try { await _tables.InsertAsync(_options.VersionsTable, new TableRow(v.Dataset, CounterRowKey, new Dictionary<string, object?> { ["Next"] = 0L }), ct).ConfigureAwait(false); }
                catch (StorageConflictException) { }
                continue;
            }
            long seq = (counter?.GetLong("Next") ?? 0) + 1;
            var withSeq = v with { Sequence = seq };
            var counterRow = new TableRow(v.Dataset, CounterRowKey, new Dictionary<string, object?> { ["Next"] = seq }, counter.ETag);
            // One atomic batch: the version row (insert fails if the hash exists) and the counter (ETag-guarded), so two
            // concurrent ingests can neither both create a version nor share a sequence number.
            var batch = new TableBatch().Insert(ToRow(withSeq)).Replace(counterRow);
            try
            {
                await _tables.ExecuteBatchAsync(_options.VersionsTable, batch, ct).ConfigureAwait(false);
                return (withSeq, true);
            }
            catch (StorageConflictException) when (attempt < 20)
            {
                var existing = await GetVersionAsync(v.Dataset, v.Hash, ct).ConfigureAwait(false);
                if (existing is not null) return (existing, false);
                await Task.Delay(Random.Shared.Next(5, 50), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteOnceAsync(string container, string name, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        try { await _blobs.WriteAsync(container, name, data, WriteCondition.NotExists, ct).ConfigureAwait(false); }
        catch (StorageConflictException) { /* content-addressed: an existing blob already holds these bytes */ }
    }

    private async Task SaveInferredSchemaAsync(string dataset, DatasetSchema schema, CancellationToken ct)
    {
        // Create-only: never overwrite a schema a user (or a concurrent ingest) wrote first.
        try { await _blobs.WriteAsync(_options.DatasetsContainer, SchemaBlobName(dataset), Json.SerializeToUtf8(schema, indented: true), WriteCondition.NotExists, ct).ConfigureAwait(false); }
        catch (StorageConflictException) { }
    }

    private async Task AlertAsync(DatasetVersion v, ValidationReport report, CancellationToken ct)
    {
        string container = report.IsQuarantined ? _options.QuarantineContainer : _options.DatasetsContainer;
        var alert = new DataAlert(v.Dataset, v.Hash, report.Outcome, report.ToSummary(),
            report.Anomalies.Where(a => a.Severity != Severity.Info).ToList(), v.SourceName,
            $"{container}/{ValidationBlobName(v.Dataset, v.Hash)}", report.CreatedAt);
        await _alerts.SendAsync(alert, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ quarantine

    private async Task CopyToQuarantineAsync(string dataset, string hash, ReadOnlyMemory<byte> data, ValidationReport report, CancellationToken ct)
    {
        // Report first (small, creates the container), then the data — see IngestAsync.
        await _blobs.WriteAsync(_options.QuarantineContainer, ValidationBlobName(dataset, hash), Json.SerializeToUtf8(report, indented: true), default, ct).ConfigureAwait(false);
        await WriteOnceAsync(_options.QuarantineContainer, DataBlobName(dataset, hash), data, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Quarantines an already-stored version after the fact (e.g. a later check found a problem): copies its data and
    /// <paramref name="report"/> to the quarantine container, stores the report, and marks the index row quarantined so it
    /// is no longer used for training. The original stays where it is.
    /// </summary>
    /// <exception cref="DataException">Unknown version (<c>data.version_not_found</c>, 404).</exception>
    public async Task<DatasetVersion> QuarantineAsync(string dataset, string hash, ValidationReport report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        var v = await GetVersionAsync(dataset, hash, cancellationToken).ConfigureAwait(false) ?? throw NotFound(dataset, hash);
        var blob = await _blobs.ReadAsync(_options.DatasetsContainer, DataBlobName(dataset, hash), cancellationToken).ConfigureAwait(false) ?? throw NotFound(dataset, hash);
        var r = report with { Dataset = dataset, Hash = hash, Outcome = ValidationOutcome.Quarantined, CreatedAt = report.CreatedAt == default ? _clock.UtcNow : report.CreatedAt };
        await CopyToQuarantineAsync(dataset, hash, blob.Data, r, cancellationToken).ConfigureAwait(false);
        await _blobs.WriteAsync(_options.DatasetsContainer, ValidationBlobName(dataset, hash), Json.SerializeToUtf8(r, indented: true), default, cancellationToken).ConfigureAwait(false);
        var updated = v with { Outcome = ValidationOutcome.Quarantined, Errors = r.Errors.Count() };
        await _tables.ExecuteAsync(_options.VersionsTable, new TableOperation(TableOperationKind.Merge, ToRow(updated)), cancellationToken).ConfigureAwait(false);
        lock (_cacheLock) if (_reference is { } c && c.Dataset == dataset && c.Hash == hash) _reference = null;
        await AlertAsync(updated, r, cancellationToken).ConfigureAwait(false);
        return updated;
    }

    // ------------------------------------------------------------------ queries

    /// <summary>The version's index row, or null.</summary>
    public async Task<DatasetVersion?> GetVersionAsync(string dataset, string hash, CancellationToken cancellationToken = default)
    {
        ValidateDatasetName(dataset);
        ValidateHash(hash);
        var row = await _tables.GetAsync(_options.VersionsTable, dataset, hash, cancellationToken).ConfigureAwait(false);
        return row is null ? null : FromRow(row);
    }

    /// <summary>All versions of a dataset, newest first (empty when the dataset is unknown).</summary>
    public async Task<IReadOnlyList<DatasetVersion>> ListVersionsAsync(string dataset, CancellationToken cancellationToken = default)
    {
        ValidateDatasetName(dataset);
        var rows = await _tables.QueryAsync(_options.VersionsTable, dataset, cancellationToken: cancellationToken).ConfigureAwait(false);
        return rows.Where(r => r.RowKey != CounterRowKey).Select(FromRow).OrderByDescending(v => v.Sequence).ToList();
    }

    /// <summary>Every dataset with its version count, newest version and quarantined count, by name. One scan of the
    /// version index (one row per version plus a counter per dataset), no blob read.</summary>
    public async Task<IReadOnlyList<DatasetSummary>> ListDatasetsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await _tables.QueryAllAsync(_options.VersionsTable, cancellationToken).ConfigureAwait(false);
        return DatasetSummary.Summarize(rows.Where(r => r.RowKey != CounterRowKey).Select(FromRow));
    }

    /// <summary>Index row, profile and validation report of one version, or null when it does not exist.</summary>
    public async Task<DatasetVersionDetails?> GetVersionDetailsAsync(string dataset, string hash, CancellationToken cancellationToken = default)
    {
        var v = await GetVersionAsync(dataset, hash, cancellationToken).ConfigureAwait(false);
        if (v is null) return null;
        return new DatasetVersionDetails(v,
            await GetProfileAsync(dataset, hash, cancellationToken).ConfigureAwait(false),
            await GetReportAsync(dataset, hash, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The stored profile, or null.</summary>
    public Task<DataProfile?> GetProfileAsync(string dataset, string hash, CancellationToken cancellationToken = default) =>
        ReadJsonAsync<DataProfile>(_options.DatasetsContainer, ProfileBlobName(dataset, hash), cancellationToken);

    /// <summary>The stored validation report, or null.</summary>
    public Task<ValidationReport?> GetReportAsync(string dataset, string hash, CancellationToken cancellationToken = default) =>
        ReadJsonAsync<ValidationReport>(_options.DatasetsContainer, ValidationBlobName(dataset, hash), cancellationToken);

    /// <summary>The newest version that may be used for training (accepted or warning), or null.</summary>
    public async Task<DatasetVersion?> LatestUsableAsync(string dataset, CancellationToken cancellationToken = default) =>
        (await ListVersionsAsync(dataset, cancellationToken).ConfigureAwait(false)).FirstOrDefault(v => v.IsUsable);

    /// <summary>Reads and parses a stored version.</summary>
    /// <exception cref="DataException">Unknown version (<c>data.version_not_found</c>) or unreadable (<c>data.malformed</c>).</exception>
    public async Task<DataTable> LoadTableAsync(string dataset, string hash, CancellationToken cancellationToken = default)
    {
        ValidateDatasetName(dataset);
        ValidateHash(hash);
        lock (_cacheLock)
            if (_reference is { } c && c.Dataset == dataset && c.Hash == hash) return c.Table;
        var blob = await _blobs.ReadAsync(_options.DatasetsContainer, DataBlobName(dataset, hash), cancellationToken).ConfigureAwait(false)
            ?? throw NotFound(dataset, hash);
        return _parser.Parse(blob.Data);
    }

    /// <summary>Parses CSV bytes the way stored versions are parsed (rows that are not a dataset version, e.g. labeled production rows).</summary>
    public DataTable ParseTable(byte[] csv) => _parser.Parse(csv);

    // ------------------------------------------------------------------ training sets

    /// <summary>
    /// Assembles the training set: in <see cref="TrainingSetMode.Replace"/> mode the newest usable version; in
    /// <see cref="TrainingSetMode.Append"/> mode all usable versions since the cutoff, oldest first, concatenated by column
    /// name (a column absent from an older version is filled with missing values). Quarantined versions are never included.
    /// The manifest is stored so the set can be recovered from its <see cref="TrainingSet.Id"/> (record it in lineage).
    /// </summary>
    /// <exception cref="DataException"><c>data.no_usable_version</c> (409) when nothing qualifies; <c>data.version_not_found</c> for an unknown SinceHash.</exception>
    public async Task<TrainingSet> GetTrainingSetAsync(string dataset, TrainingSetRequest? request = null, CancellationToken cancellationToken = default)
    {
        var manifest = await PlanTrainingSetAsync(dataset, request, cancellationToken).ConfigureAwait(false);
        var tables = new List<DataTable>();
        foreach (var h in manifest.Hashes) tables.Add(await LoadTableAsync(dataset, h, cancellationToken).ConfigureAwait(false));
        return new TrainingSet(manifest, tables.Count == 1 ? tables[0] : Concat(tables));
    }

    /// <summary>
    /// Chooses the versions of a training set and stores its manifest, without reading any data: callers that only
    /// need the version list (a pipeline deciding what its trials train on) skip downloading and parsing every CSV.
    /// </summary>
    /// <exception cref="DataException">As <see cref="GetTrainingSetAsync"/>.</exception>
    public async Task<TrainingSetManifest> PlanTrainingSetAsync(string dataset, TrainingSetRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= new TrainingSetRequest();
        var all = await ListVersionsAsync(dataset, cancellationToken).ConfigureAwait(false);
        var usable = all.Where(v => v.IsUsable).OrderBy(v => v.Sequence).ToList();
        List<DatasetVersion> chosen;
        if (request.Mode == TrainingSetMode.Replace)
        {
            chosen = usable.Count == 0 ? [] : [usable[^1]];
        }
        else
        {
            long fromSeq = 0;
            if (request.SinceHash is { } sh)
                fromSeq = (all.FirstOrDefault(v => v.Hash == sh) ?? throw NotFound(dataset, sh)).Sequence;
            chosen = usable.Where(v => v.Sequence >= fromSeq && (request.Since is null || v.IngestedAt >= request.Since)).ToList();
        }
        if (chosen.Count == 0)
            throw new DataException("data.no_usable_version", $"Dataset '{dataset}' has no accepted version{(request.Mode == TrainingSetMode.Append ? " in the requested range" : "")} to train on.", 409);

        var hashes = chosen.Select(v => v.Hash).ToList();
        string id = request.Mode == TrainingSetMode.Replace ? hashes[0] : "set-" + ComputeHash(Encoding.UTF8.GetBytes(string.Join("\n", hashes)));
        var manifest = new TrainingSetManifest(dataset, id, request.Mode, hashes, chosen.Sum(v => v.Rows), _clock.UtcNow);
        await WriteOnceAsync(_options.DatasetsContainer, TrainingSetBlobName(dataset, id), Json.SerializeToUtf8(manifest, indented: true), cancellationToken).ConfigureAwait(false);
        return await GetTrainingSetManifestAsync(dataset, id, cancellationToken).ConfigureAwait(false) ?? manifest;
    }

    /// <summary>A stored training-set manifest by id, or null.</summary>
    public Task<TrainingSetManifest?> GetTrainingSetManifestAsync(string dataset, string id, CancellationToken cancellationToken = default)
    {
        ValidateDatasetName(dataset);
        return ReadJsonAsync<TrainingSetManifest>(_options.DatasetsContainer, TrainingSetBlobName(dataset, id), cancellationToken);
    }

    /// <summary>
    /// Concatenates versions by column name, taking names and kinds from the last (newest) table; a column whose kind
    /// differs between versions is a <see cref="DataException"/> rather than a silent conversion.
    /// </summary>
    public static DataTable Concat(IReadOnlyList<DataTable> tables)
    {
        var newest = tables[^1];
        int total = tables.Sum(t => t.RowCount);
        var cols = new List<Column>(newest.Columns.Count);
        foreach (var template in newest.Columns)
        {
            double[]? nums = template.Numbers is null ? null : new double[total];
            string?[]? strs = template.Strings is null ? null : new string?[total];
            int at = 0;
            foreach (var t in tables)
            {
                var c = t.Find(template.Name);
                if (c is not null && ((nums is null) != (c.Numbers is null) || (strs is null) != (c.Strings is null)))
                    throw new DataException("data.incompatible_versions",
                        $"Column '{template.Name}' is {c.Kind} in one version and {template.Kind} in another; use replace mode or fix the schema.", 409);
                if (nums is not null) { if (c is null) nums.AsSpan(at, t.RowCount).Fill(double.NaN); else c.Numbers!.CopyTo(nums, at); }
                if (strs is not null && c is not null) c.Strings!.CopyTo(strs, at);
                at += t.RowCount;
            }
            cols.Add(new Column(template.Name, template.Kind, nums, strs));
        }
        return new DataTable(cols);
    }

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
    public async Task SaveSchemaAsync(string dataset, DatasetSchema schema, CancellationToken cancellationToken = default)
    {
        ValidateDatasetName(dataset);
        ArgumentNullException.ThrowIfNull(schema);
        var s = (schema with { Dataset = dataset }).Validate();
        if (s.Label is null && await GetSchemaAsync(dataset, cancellationToken).ConfigureAwait(false) is { Label: { } current })
            throw new DataException("data.schema", $"Invalid schema: it has no label; the dataset's label is '{current}' (set \"label\" and keep its column).");
        await _blobs.WriteAsync(_options.DatasetsContainer, SchemaBlobName(dataset), Json.SerializeToUtf8(s, indented: true), default, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ helpers

    private async Task<T?> ReadJsonAsync<T>(string container, string name, CancellationToken ct) where T : class
    {
        var blob = await _blobs.ReadAsync(container, name, ct).ConfigureAwait(false);
        if (blob is null) return null;
        try { return Json.Deserialize<T>(blob.Data); }
        catch (System.Text.Json.JsonException ex)
        {
            throw new DataException("data.corrupt_document", $"{container}/{name} is not valid JSON for {typeof(T).Name}: {ex.Message}", 500, ex);
        }
    }

    private static DataException NotFound(string dataset, string hash) =>
        new("data.version_not_found", $"Dataset '{dataset}' has no version {hash}.", 404);

    private static TableRow ToRow(DatasetVersion v) => new(v.Dataset, v.Hash, new Dictionary<string, object?>
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
    }.Where(kv => kv.Value is not null).ToDictionary());

    private static DatasetVersion FromRow(TableRow r) => new(
        r.PartitionKey, r.RowKey, r.GetLong("Sequence") ?? 0, r.GetLong("Rows") ?? 0, (int)(r.GetLong("Columns") ?? 0), r.GetLong("Bytes") ?? 0,
        r.GetDate("IngestedAt") ?? r.Timestamp ?? default,
        Enum.TryParse<ValidationOutcome>(r.GetString("Outcome"), out var o) ? o : ValidationOutcome.Quarantined,
        r.GetString("SourceName"), (int)(r.GetLong("Errors") ?? 0), (int)(r.GetLong("Warnings") ?? 0), r.GetString("ReferenceHash"));
}
