using System.Globalization;
using System.Text;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Data.Profiling;
using Mlops.Data.Schema;
using Mlops.Data.Tabular;
using Mlops.Data.Validation;

namespace Mlops.Data.Versions;

/// <summary>Ingest (content-addressed, validated, indexed once) and quarantine: data is never lost, only set
/// aside.</summary>
public sealed partial class DatasetStore
{
    // ------------------------------------------------------------------ ingest

    /// <summary>Reads <paramref name="content"/> fully and ingests it (see the byte overload).</summary>
    public async Task<IngestResult> IngestAsync(
        string dataset,
        Stream content,
        string? sourceName = null,
        IngestOptions? options = null,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(content);
        using var ms = content.CanSeek
            ? new MemoryStream(checked((int)Math.Max(0, content.Length - content.Position)))
            : new MemoryStream();
        await content.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
        return await IngestAsync(
                dataset,
                ms.GetBuffer().AsMemory(0, (int)ms.Length),
                sourceName,
                options,
                cancellationToken
            )
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Stores a file as a content-addressed version, profiles it, validates it against the schema (inferring one from
    /// the first usable version) and the previous usable version, quarantines it on failure, and indexes it. The
    /// alert about a quarantined version is the pipeline's to send (durably, from the stored report).
    /// Identical bytes ingested again return the earlier version with <see cref="IngestResult.IsNew"/> false.
    /// Bad files never throw: they come back quarantined with a <c>malformed</c> anomaly naming the line.
    /// </summary>
    /// <param name="dataset">Dataset name (see <see cref="ValidateDatasetName"/>).</param>
    /// <param name="data">File bytes (UTF-8 CSV with header).</param>
    /// <param name="sourceName">Where the file came from (incoming blob name), recorded in the index.</param>
    /// <param name="options">Label and validation thresholds from the pipeline configuration.</param>
    /// <param name="cancellationToken">Cancels storage calls.</param>
    /// <exception cref="DataException">Invalid dataset name or options.</exception>
    public async Task<IngestResult> IngestAsync(
        string dataset,
        ReadOnlyMemory<byte> data,
        string? sourceName = null,
        IngestOptions? options = null,
        CancellationToken cancellationToken = default
    )
    {
        ValidateDatasetName(dataset);
        var vo = (options?.Validation ?? ValidationOptions.Default).Validate();
        string hash = ComputeHash(data.Span);

        var existing = await GetVersionAsync(dataset, hash, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
            return await ExistingResultAsync(existing, cancellationToken).ConfigureAwait(false);

        var schema = await GetSchemaAsync(dataset, cancellationToken).ConfigureAwait(false);
        var reference = await LatestUsableAsync(dataset, cancellationToken).ConfigureAwait(false);
        var (table, profile, report, inferredSchema) = await AnalyzeAsync(
                dataset,
                hash,
                data,
                schema,
                reference,
                options?.Label,
                vo,
                options?.Training,
                cancellationToken
            )
            .ConfigureAwait(false);
        report = report with
        {
            Dataset = dataset,
            Hash = hash,
            ReferenceHash = table is null ? null : reference?.Hash,
            CreatedAt = _clock.UtcNow,
        };

        // Artifacts first, index row last: a crash in between leaves only re-creatable blobs and no half-visible
        // version.
        if (profile is not null)
            await _blobs
                .WriteAsync(
                    _options.DatasetsContainer,
                    ProfileBlobName(dataset, hash),
                    Json.SerializeToUtf8(profile, indented: true),
                    default,
                    cancellationToken
                )
                .ConfigureAwait(false);
        await _blobs
            .WriteAsync(
                _options.DatasetsContainer,
                ValidationBlobName(dataset, hash),
                Json.SerializeToUtf8(report, indented: true),
                default,
                cancellationToken
            )
            .ConfigureAwait(false);
        // The data goes after the small documents: those create the container when it is new, which a multi-block
        // upload through the Azure adapter does not do by itself (its ContainerNotFound arrives wrapped in an
        // AggregateException).
        await WriteOnceAsync(_options.DatasetsContainer, DataBlobName(dataset, hash), data, cancellationToken)
            .ConfigureAwait(false);
        if (report.IsQuarantined)
            await CopyToQuarantineAsync(dataset, hash, data, report, cancellationToken).ConfigureAwait(false);
        else if (inferredSchema is not null)
            await SaveInferredSchemaAsync(dataset, inferredSchema, cancellationToken).ConfigureAwait(false);

        var version = new DatasetVersion(
            dataset,
            hash,
            0,
            table?.RowCount ?? 0,
            table?.Columns.Count ?? 0,
            data.Length,
            _clock.UtcNow,
            report.Outcome,
            sourceName,
            report.Errors.Count(),
            report.Anomalies.Count(a => a.Severity == Severity.Warning),
            report.ReferenceHash
        );
        var (stored, isNew) = await InsertIndexAsync(version, cancellationToken).ConfigureAwait(false);
        if (!isNew)
            return await ExistingResultAsync(stored, cancellationToken).ConfigureAwait(false);

        if (_options.CacheReference && stored.IsUsable && table is not null && profile is not null)
            lock (_cacheLock)
                _reference = (dataset, hash, table, profile);

        return new IngestResult(stored, true, report, profile);
    }

    /// <summary>
    /// Parses, profiles and validates one file. Malformed input becomes a report, never an exception. Returns the
    /// schema it inferred when the dataset had none (to be saved only if the version is usable).
    /// </summary>
    private async Task<(
        DataTable? Table,
        DataProfile? Profile,
        ValidationReport Report,
        DatasetSchema? InferredSchema
    )> AnalyzeAsync(
        string dataset,
        string hash,
        ReadOnlyMemory<byte> data,
        DatasetSchema? schema,
        DatasetVersion? reference,
        string? label,
        ValidationOptions vo,
        TrainingRequirements? training,
        CancellationToken ct
    )
    {
        if (PreCheck(data.Span, _options.MaxLineBytes) is { } bad)
            return (null, null, DataValidator.Malformed(bad.Message, bad.Line), null);
        if (HeaderColumnCount(data) is var columns && columns > _options.MaxColumns)
            return (null, null, DataValidator.TooManyColumns(columns, _options.MaxColumns), null);
        DataTable table;
        try
        {
            table = _parser.Parse(data);
        }
        catch (DataException ex) when (ex.Code == "data.malformed")
        {
            return (null, null, DataValidator.Malformed(ex.Message, ex.Line), null);
        }

        label ??= schema?.Label;
        var profile = DataProfiler.Profile(table, label);
        DatasetSchema? inferred = schema is null ? SchemaInference.Infer(profile, vo, dataset, hash) : null;
        var (refTable, refProfile) = reference is null
            ? (null, null)
            : await LoadReferenceAsync(reference, ct).ConfigureAwait(false);
        var report = DataValidator.Validate(
            table,
            profile,
            schema ?? inferred!,
            refTable,
            refProfile,
            vo,
            label,
            training
        );
        return (table, profile, report, inferred);
    }

    private async Task<IngestResult> ExistingResultAsync(DatasetVersion v, CancellationToken ct)
    {
        var report = await GetReportAsync(v.Dataset, v.Hash, ct).ConfigureAwait(false)
            ?? new ValidationReport
            {
                Dataset = v.Dataset,
                Hash = v.Hash,
                Outcome = v.Outcome,
                RowCount = v.Rows,
            };
        var profile = await GetProfileAsync(v.Dataset, v.Hash, ct).ConfigureAwait(false);
        return new IngestResult(v, false, report, profile);
    }

    /// <summary>Cheap byte-level checks that give better messages than a parser would: empty, binary, bad UTF-8, huge
    /// lines.</summary>
    internal static (string Message, long? Line)? PreCheck(ReadOnlySpan<byte> data, int maxLineBytes)
    {
        if (data.IsEmpty)
            return ("The file is empty (0 bytes).", null);
        int nul = data.IndexOf((byte)0);
        if (nul >= 0)
        {
            long line = LineOf(data, nul);
            return (
                $"Line {line}: the file contains binary data (a NUL byte at offset {nul}); expected UTF-8 CSV text.",
                line
            );
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
                return (
                    string.Create(
                        CultureInfo.InvariantCulture,
                        $"Line {lineNo}: the line is {len:N0} bytes long (limit {maxLineBytes:N0}); the file is probably not line-oriented CSV or has an unclosed quote."
                    ),
                    lineNo
                );
            if (nl < 0)
                break;
            start += nl + 1;
            lineNo++;
        }
        return null;
    }

    /// <summary>Fields in the header record (counted by the CSV reader, so quoted commas do not count).</summary>
    internal static int HeaderColumnCount(ReadOnlyMemory<byte> data)
    {
        using var reader = new CsvRecordReader(new MemoryStream(data.ToArray(), writable: false), leaveOpen: false);
        try
        {
            return reader.Read() ? reader.FieldCount : 0;
        }
        catch (CsvFormatException)
        {
            return 0;
        } // the parser reports the malformed header with its line
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> data)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (Rune.DecodeFromUtf8(data[i..], out _, out int consumed) != System.Buffers.OperationStatus.Done)
                return i;
            i += consumed;
        }
        return Math.Max(0, data.Length - 1);
    }

    private static long LineOf(ReadOnlySpan<byte> data, int offset) => data[..offset].Count((byte)'\n') + 1;

    private async Task<(DataTable?, DataProfile?)> LoadReferenceAsync(DatasetVersion reference, CancellationToken ct)
    {
        lock (_cacheLock)
            if (_reference is { } c && c.Dataset == reference.Dataset && c.Hash == reference.Hash)
                return (c.Table, c.Profile);
        var profile = await GetProfileAsync(reference.Dataset, reference.Hash, ct).ConfigureAwait(false);
        var table = await LoadTableAsync(reference.Dataset, reference.Hash, ct).ConfigureAwait(false);
        return (table, profile ?? DataProfiler.Profile(table));
    }

    private async Task<(DatasetVersion Version, bool IsNew)> InsertIndexAsync(DatasetVersion v, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            var counter = await _tables
                .GetAsync(_options.VersionsTable, v.Dataset, CounterRowKey, ct)
                .ConfigureAwait(false);
            if (counter is null)
            {
                // Create the counter with a single insert first: it also creates the table, which a batch on a missing
                // table cannot do portably (Azurite answers a bare 404 for it). A lost race just means someone else
                // made it.
                try
                {
                    await _tables
                        .InsertAsync(
                            _options.VersionsTable,
                            new TableRow(v.Dataset, CounterRowKey, new Dictionary<string, object?> { ["Next"] = 0L }),
                            ct
                        )
                        .ConfigureAwait(false);
                }
                catch (StorageConflictException) { }
                continue;
            }
            long seq = (counter.GetLong("Next") ?? 0) + 1;
            var withSeq = v with { Sequence = seq };
            var counterRow = new TableRow(
                v.Dataset,
                CounterRowKey,
                new Dictionary<string, object?> { ["Next"] = seq },
                counter.ETag
            );
            // One atomic batch: the version row (insert fails if the hash exists) and the counter (ETag-guarded), so
            // two concurrent ingests can neither both create a version nor share a sequence number.
            var batch = new TableBatch().Insert(ToRow(withSeq)).Replace(counterRow);
            try
            {
                await _tables.ExecuteBatchAsync(_options.VersionsTable, batch, ct).ConfigureAwait(false);
                return (withSeq, true);
            }
            catch (StorageConflictException) when (attempt < 20)
            {
                var existing = await GetVersionAsync(v.Dataset, v.Hash, ct).ConfigureAwait(false);
                if (existing is not null)
                    return (existing, false);
                await Task.Delay(Random.Shared.Next(5, 50), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteOnceAsync(string container, string name, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        try
        {
            await _blobs.WriteAsync(container, name, data, WriteCondition.NotExists, ct).ConfigureAwait(false);
        }
        catch (StorageConflictException)
        { /* content-addressed: an existing blob already holds these bytes */
        }
    }

    private async Task SaveInferredSchemaAsync(string dataset, DatasetSchema schema, CancellationToken ct)
    {
        // Create-only: never overwrite a schema a user (or a concurrent ingest) wrote first.
        try
        {
            await _blobs
                .WriteAsync(
                    _options.DatasetsContainer,
                    SchemaBlobName(dataset),
                    Json.SerializeToUtf8(schema, indented: true),
                    WriteCondition.NotExists,
                    ct
                )
                .ConfigureAwait(false);
        }
        catch (StorageConflictException) { }
    }

    // ------------------------------------------------------------------ quarantine

    private async Task CopyToQuarantineAsync(
        string dataset,
        string hash,
        ReadOnlyMemory<byte> data,
        ValidationReport report,
        CancellationToken ct
    )
    {
        // Report first (small, creates the container), then the data — see IngestAsync.
        await _blobs
            .WriteAsync(
                _options.QuarantineContainer,
                ValidationBlobName(dataset, hash),
                Json.SerializeToUtf8(report, indented: true),
                default,
                ct
            )
            .ConfigureAwait(false);
        await WriteOnceAsync(_options.QuarantineContainer, DataBlobName(dataset, hash), data, ct).ConfigureAwait(false);
    }
}
