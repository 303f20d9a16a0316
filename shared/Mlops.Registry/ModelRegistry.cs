using System.Security.Cryptography;
using System.Text;
using Mlops.Core;
using Mlops.Core.Storage;

namespace Mlops.Registry;

/// <summary>
/// The model registry: numbered versions per model with their files, metrics and lineage; movable aliases
/// (<c>production</c>, <c>candidate</c>, any name); traffic splits for serving; and an append-only history of every
/// alias and traffic change.
/// </summary>
/// <remarks>
/// <para>Storage layout. Blobs: <c>{container}/{model}/v{N}/model.json</c>, <c>metrics.json</c>, <c>lineage.json</c>
/// (and <c>gate.json</c>), plus <c>{model}/history.jsonl</c>, an append-only audit copy of the history. One table, one
/// partition per model: a <c>counter</c> row (next version number), one row per version (<c>v0000000001</c>), one
/// idempotency row per run id, a <c>state</c> row (aliases, traffic, rollback stack, revision) and history rows
/// <c>h{revision}</c>. A partition <c>_models</c> lists the models.</para>
/// <para>Concurrency. Version numbers come from the counter row, advanced by an ETag-guarded replace, so concurrent
/// registrations in different processes get distinct numbers. Every alias or traffic change is one atomic table batch
/// in the model's partition: replace the state row if its ETag is unchanged and insert the history row for the next
/// revision. Either both are written or neither, so the history never disagrees with the state and a lost race is
/// reported as a 409 <see cref="RegistryException"/> with nothing written.</para>
/// </remarks>
public sealed partial class ModelRegistry
{
    /// <summary>The alias that serving answers with by default.</summary>
    public const string ProductionAlias = "production";

    /// <summary>The alias the pipeline puts on a freshly registered, gate-passing version awaiting promotion.</summary>
    public const string CandidateAlias = "candidate";

    private const string ModelsPartition = "_models";
    private const string CounterRow = "counter";
    private const string StateRow = "state";

    private readonly IBlobStore _blobs;
    private readonly ITableStore _tables;
    private readonly RegistryOptions _options;
    private readonly IClock _clock;

    /// <summary>Creates a registry over the given storage ports.</summary>
    public ModelRegistry(IBlobStore blobs, ITableStore tables, RegistryOptions? options = null, IClock? clock = null)
    {
        _blobs = blobs ?? throw new ArgumentNullException(nameof(blobs));
        _tables = tables ?? throw new ArgumentNullException(nameof(tables));
        _options = (options ?? new RegistryOptions()).Validate();
        _clock = clock ?? SystemClock.Instance;
    }

    /// <summary>The options in use.</summary>
    public RegistryOptions Options => _options;

    // ------------------------------------------------------------------ registration

    /// <summary>
    /// Registers a new version: allocates the next number, writes <c>model.json</c>, <c>metrics.json</c> and
    /// <c>lineage.json</c>, then indexes the version. Safe to repeat: with the same
    /// <see cref="RegisterModelRequest.IdempotencyKey"/> (run id) the existing version is returned and nothing new is
    /// written. A version becomes visible in listings only after all its blobs exist.
    /// </summary>
    /// <remarks>Version numbers may skip a value when two processes register the same run at the same instant; they
    /// never repeat.</remarks>
    public async Task<ModelVersion> RegisterAsync(
        RegisterModelRequest request,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(request);
        string model = RegistryNames.CheckModel(request.Model);
        if (request.ModelFile.IsEmpty)
            throw new RegistryException("registry.empty_model", "The model file is empty.");
        string? key = string.IsNullOrWhiteSpace(request.IdempotencyKey) ? null : request.IdempotencyKey.Trim();

        if (key is not null && await FindByRunAsync(model, key, cancellationToken).ConfigureAwait(false) is int known)
        {
            var existing = await FindVersionAsync(model, known, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
                return existing;
            // The earlier attempt claimed the number but crashed before indexing: finish its work under the same
            // number.
            return await CompleteRegistrationAsync(model, known, request, key, cancellationToken).ConfigureAwait(false);
        }

        await EnsureModelAsync(model, cancellationToken).ConfigureAwait(false);
        int version = await AllocateVersionAsync(model, cancellationToken).ConfigureAwait(false);
        if (key is not null)
        {
            var claim = new TableRow(model, RunRowKey(key)) { ["RunId"] = key, ["Version"] = version };
            try
            {
                await _tables.InsertAsync(_options.Table, claim, cancellationToken).ConfigureAwait(false);
            }
            catch (StorageConflictException)
            {
                // Another attempt of the same run won the claim; its number is the version of this run.
                version = await FindByRunAsync(model, key, cancellationToken).ConfigureAwait(false)
                    ?? throw new RegistryException(
                        "registry.conflict",
                        $"Run '{key}' claim vanished during registration of '{model}'.",
                        409
                    );
                var existing = await FindVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
                if (existing is not null)
                    return existing;
            }
        }
        return await CompleteRegistrationAsync(model, version, request, key, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ModelVersion> CompleteRegistrationAsync(
        string model,
        int version,
        RegisterModelRequest request,
        string? key,
        CancellationToken ct
    )
    {
        string prefix = $"{model}/v{version}/";
        var metrics = request.Metrics ?? ModelMetrics.Empty;
        var lineage = (request.Lineage ?? ModelLineage.ForCurrentEnvironment()) with
        {
            RunId = request.Lineage?.RunId ?? key,
        };
        // Deterministic names and unconditional writes: a retried attempt rewrites the same content.
        await _blobs
            .WriteAsync(_options.Container, prefix + "model.json", request.ModelFile, cancellationToken: ct)
            .ConfigureAwait(false);
        await _blobs
            .WriteAsync(
                _options.Container,
                prefix + "metrics.json",
                Json.SerializeToUtf8(metrics, indented: true),
                cancellationToken: ct
            )
            .ConfigureAwait(false);
        await _blobs
            .WriteAsync(
                _options.Container,
                prefix + "lineage.json",
                Json.SerializeToUtf8(lineage, indented: true),
                cancellationToken: ct
            )
            .ConfigureAwait(false);
        if (request.Gate is not null)
            await _blobs
                .WriteAsync(
                    _options.Container,
                    prefix + "gate.json",
                    Json.SerializeToUtf8(request.Gate, indented: true),
                    cancellationToken: ct
                )
                .ConfigureAwait(false);

        var info = new ModelVersion
        {
            Model = model,
            Version = version,
            Status = VersionStatus.Active,
            CreatedAt = _clock.UtcNow,
            RunId = key,
            Metrics = metrics,
            DataHash = lineage.DataHash,
            CodeVersion = lineage.CodeVersion,
            ModelPath = prefix + "model.json",
            ModelBytes = request.ModelFile.Length,
            Gate = request.Gate,
            Description = request.Description,
        };
        try
        {
            await _tables.InsertAsync(_options.Table, ToRow(info), ct).ConfigureAwait(false);
            return info;
        }
        catch (StorageConflictException)
        {
            return await GetVersionAsync(model, version, ct).ConfigureAwait(false);
        }
    }

    private async Task EnsureModelAsync(string model, CancellationToken ct)
    {
        if (await _tables.GetAsync(_options.Table, model, StateRow, ct).ConfigureAwait(false) is not null)
            return;
        await InsertIgnoringConflictAsync(new TableRow(ModelsPartition, model) { ["CreatedAt"] = _clock.UtcNow }, ct)
            .ConfigureAwait(false);
        await InsertIgnoringConflictAsync(
                new TableRow(model, StateRow)
                {
                    ["State"] = Json.Serialize(new StateDoc()),
                    ["Revision"] = 0L,
                    ["UpdatedAt"] = _clock.UtcNow,
                },
                ct
            )
            .ConfigureAwait(false);
    }

    private async Task InsertIgnoringConflictAsync(TableRow row, CancellationToken ct)
    {
        try
        {
            await _tables.InsertAsync(_options.Table, row, ct).ConfigureAwait(false);
        }
        catch (StorageConflictException)
        { /* already there: another registration created it */
        }
    }

    private async Task<int> AllocateVersionAsync(string model, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var row = await _tables.GetAsync(_options.Table, model, CounterRow, ct).ConfigureAwait(false);
            try
            {
                if (row is null)
                {
                    await _tables
                        .InsertAsync(_options.Table, new TableRow(model, CounterRow) { ["Next"] = 2L }, ct)
                        .ConfigureAwait(false);
                    return 1;
                }
                long next = row.GetLong("Next") ?? 1;
                row["Next"] = next + 1;
                await _tables.ReplaceAsync(_options.Table, row, ct).ConfigureAwait(false);
                return checked((int)next);
            }
            catch (StorageConflictException) when (attempt < 100)
            {
                // Lost the race to another registration: back off a little (jittered) and read the counter again.
                await Task.Delay(Random.Shared.Next(2, 10 + 5 * Math.Min(attempt, 20)), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<int?> FindByRunAsync(string model, string key, CancellationToken ct)
    {
        var row = await _tables.GetAsync(_options.Table, model, RunRowKey(key), ct).ConfigureAwait(false);
        return row is null ? null : (int?)row.GetLong("Version");
    }

    // Run ids may contain characters that table keys forbid (/, \, #, ?); a hash keeps the key valid and fixed-length.
    private static string RunRowKey(string key) =>
        "run-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..40];

    private static string VersionRowKey(int version) => "v" + version.ToString("D10");

    private static string HistoryRowKey(long revision) => "h" + revision.ToString("D12");

    // ------------------------------------------------------------------ reads

    /// <summary>All registered models with their latest version and aliases.</summary>
    public async Task<IReadOnlyList<ModelSummary>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await _tables
            .QueryAsync(_options.Table, ModelsPartition, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        var result = new List<ModelSummary>(rows.Count);
        foreach (var row in rows)
        {
            var state = await TryGetStateAsync(row.RowKey, cancellationToken).ConfigureAwait(false);
            var versions = await ListVersionsAsync(row.RowKey, cancellationToken).ConfigureAwait(false);
            result.Add(
                new ModelSummary(
                    row.RowKey,
                    versions.Count == 0 ? 0 : versions[^1].Version,
                    state?.Production,
                    state?.Aliases ?? new Dictionary<string, int>(),
                    state?.UpdatedAt
                )
            );
        }
        return result;
    }

    /// <summary>A model's versions (oldest first) with their aliases, and its serving state. Throws 404 for an unknown
    /// model.</summary>
    public async Task<ModelDetails> GetModelAsync(string model, CancellationToken cancellationToken = default)
    {
        var state = await GetStateAsync(model, cancellationToken).ConfigureAwait(false);
        var versions = await ListVersionsAsync(model, cancellationToken).ConfigureAwait(false);
        return new ModelDetails(model, versions.Select(v => WithAliases(v, state)).ToList(), state);
    }

    /// <summary>A model's versions, oldest first (archived included; see <see cref="ModelVersion.Status"/>).</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(
        string model,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        var rows = await _tables.QueryAsync(_options.Table, model, "v", "w", cancellationToken).ConfigureAwait(false);
        return rows.Select(r => FromRow(model, r)).ToList();
    }

    /// <summary>One version with its aliases; throws a 404 <see cref="RegistryException"/> when missing.</summary>
    public async Task<ModelVersion> GetVersionAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    )
    {
        var v = await FindVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        if (v is null)
        {
            if (await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false) is null)
                throw RegistryException.UnknownModel(model);
            throw RegistryException.UnknownVersion(model, version);
        }
        var state = await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false);
        return state is null ? v : WithAliases(v, state);
    }

    /// <summary>One version, or null when it does not exist.</summary>
    public async Task<ModelVersion?> FindVersionAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        if (version < 1)
            return null;
        var row = await _tables
            .GetAsync(_options.Table, model, VersionRowKey(version), cancellationToken)
            .ConfigureAwait(false);
        return row is null ? null : FromRow(model, row);
    }

    /// <summary>The bytes of a version's <c>model.json</c>; 404 when missing.</summary>
    public async Task<byte[]> ReadModelFileAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    )
    {
        var v = await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        var blob = await _blobs.ReadAsync(_options.Container, v.ModelPath, cancellationToken).ConfigureAwait(false);
        return blob?.Data
            ?? throw new RegistryException(
                "registry.missing_file",
                $"The model file of {model} v{version} is missing from '{_options.Container}/{v.ModelPath}'.",
                404
            );
    }

    /// <summary>A version's lineage (data, params, code, environment), or null when it was not stored.</summary>
    public async Task<ModelLineage?> ReadLineageAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        var blob = await _blobs
            .ReadAsync(_options.Container, $"{model}/v{version}/lineage.json", cancellationToken)
            .ConfigureAwait(false);
        return blob is null ? null : Json.Deserialize<ModelLineage>(blob.Data);
    }

    /// <summary>The current aliases and traffic; throws 404 for an unknown model.</summary>
    public async Task<ServingState> GetStateAsync(string model, CancellationToken cancellationToken = default) =>
        await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false)
        ?? throw RegistryException.UnknownModel(model);

    /// <summary>The current aliases and traffic, or null for an unknown model. One point read (serving polls
    /// this).</summary>
    public async Task<ServingState?> TryGetStateAsync(string model, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        var row = await _tables.GetAsync(_options.Table, model, StateRow, cancellationToken).ConfigureAwait(false);
        return row is null ? null : ParseState(model, row);
    }

    // ------------------------------------------------------------------ history

    /// <summary>The change history, oldest first; with <paramref name="until"/> only changes committed at or before
    /// it.</summary>
    public async Task<IReadOnlyList<HistoryEntry>> GetHistoryAsync(
        string model,
        DateTimeOffset? until = null,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        var rows = await _tables.QueryAsync(_options.Table, model, "h", "i", cancellationToken).ConfigureAwait(false);
        var entries = rows.Select(r => Json.Deserialize<HistoryEntry>(r.GetString("Entry") ?? "{}")!)
            .OrderBy(e => e.Revision);
        return until is null ? entries.ToList() : entries.Where(e => e.At <= until.Value).ToList();
    }

    /// <summary>
    /// What served at time <paramref name="at"/>: the aliases and traffic in force then (the last change committed at
    /// or before it). Returns an entry with revision 0 and no aliases when nothing had been set yet.
    /// </summary>
    public async Task<HistoryEntry> GetStateAtAsync(
        string model,
        DateTimeOffset at,
        CancellationToken cancellationToken = default
    )
    {
        if (await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false) is null)
            throw RegistryException.UnknownModel(model);
        var history = await GetHistoryAsync(model, at, cancellationToken).ConfigureAwait(false);
        return history.Count > 0
            ? history[^1]
            : new HistoryEntry
            {
                Model = model,
                Revision = 0,
                At = at,
                Reason = "No alias or traffic had been set at that time.",
            };
    }
}
