using System.Security.Cryptography;
using System.Text;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Registry.Gate;

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
/// registrations in different processes get distinct numbers. Every alias or traffic change is one atomic table batch in
/// the model's partition: replace the state row if its ETag is unchanged and insert the history row for the next
/// revision. Either both are written or neither, so the history never disagrees with the state and a lost race is
/// reported as a 409 <see cref="RegistryException"/> with nothing written.</para>
/// </remarks>
public sealed class ModelRegistry
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
    public async Task<ModelVersion> RegisterAsync(RegisterModelRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        string model = RegistryNames.CheckModel(request.Model);
        if (request.ModelFile.IsEmpty) throw new RegistryException("registry.empty_model", "The model file is empty.");
        string? key = string.IsNullOrWhiteSpace(request.IdempotencyKey) ? null : request.IdempotencyKey.Trim();

        if (key is not null && await FindByRunAsync(model, key, cancellationToken).ConfigureAwait(false) is int known)
        {
            var existing = await FindVersionAsync(model, known, cancellationToken).ConfigureAwait(false);
            if (existing is not null) return existing;
            // The earlier attempt claimed the number but crashed before indexing: finish its work under the same number.
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
                          ?? throw new RegistryException("registry.conflict", $"Run '{key}' claim vanished during registration of '{model}'.", 409);
                var existing = await FindVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
                if (existing is not null) return existing;
            }
        }
        return await CompleteRegistrationAsync(model, version, request, key, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ModelVersion> CompleteRegistrationAsync(string model, int version, RegisterModelRequest request, string? key, CancellationToken ct)
    {
        string prefix = $"{model}/v{version}/";
        var metrics = request.Metrics ?? ModelMetrics.Empty;
        var lineage = (request.Lineage ?? ModelLineage.ForCurrentEnvironment()) with { RunId = request.Lineage?.RunId ?? key };
        // Deterministic names and unconditional writes: a retried attempt rewrites the same content.
        await _blobs.WriteAsync(_options.Container, prefix + "model.json", request.ModelFile, cancellationToken: ct).ConfigureAwait(false);
        await _blobs.WriteAsync(_options.Container, prefix + "metrics.json", Json.SerializeToUtf8(metrics, indented: true), cancellationToken: ct).ConfigureAwait(false);
        await _blobs.WriteAsync(_options.Container, prefix + "lineage.json", Json.SerializeToUtf8(lineage, indented: true), cancellationToken: ct).ConfigureAwait(false);
        if (request.Gate is not null)
            await _blobs.WriteAsync(_options.Container, prefix + "gate.json", Json.SerializeToUtf8(request.Gate, indented: true), cancellationToken: ct).ConfigureAwait(false);

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
        if (await _tables.GetAsync(_options.Table, model, StateRow, ct).ConfigureAwait(false) is not null) return;
        await InsertIgnoringConflictAsync(new TableRow(ModelsPartition, model) { ["CreatedAt"] = _clock.UtcNow }, ct).ConfigureAwait(false);
        await InsertIgnoringConflictAsync(new TableRow(model, StateRow)
        {
            ["State"] = Json.Serialize(new StateDoc()),
            ["Revision"] = 0L,
            ["UpdatedAt"] = _clock.UtcNow,
        }, ct).ConfigureAwait(false);
    }

    private async Task InsertIgnoringConflictAsync(TableRow row, CancellationToken ct)
    {
        try { await _tables.InsertAsync(_options.Table, row, ct).ConfigureAwait(false); }
        catch (StorageConflictException) { /* already there: another registration created it */ }
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
                    await _tables.InsertAsync(_options.Table, new TableRow(model, CounterRow) { ["Next"] = 2L }, ct).ConfigureAwait(false);
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
    private static string RunRowKey(string key) => "run-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..40];

    private static string VersionRowKey(int version) => "v" + version.ToString("D10");

    private static string HistoryRowKey(long revision) => "h" + revision.ToString("D12");

    // ------------------------------------------------------------------ reads

    /// <summary>All registered models with their latest version and aliases.</summary>
    public async Task<IReadOnlyList<ModelSummary>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await _tables.QueryAsync(_options.Table, ModelsPartition, cancellationToken: cancellationToken).ConfigureAwait(false);
        var result = new List<ModelSummary>(rows.Count);
        foreach (var row in rows)
        {
            var state = await TryGetStateAsync(row.RowKey, cancellationToken).ConfigureAwait(false);
            var versions = await ListVersionsAsync(row.RowKey, cancellationToken).ConfigureAwait(false);
            result.Add(new ModelSummary(row.RowKey, versions.Count == 0 ? 0 : versions[^1].Version, state?.Production,
                state?.Aliases ?? new Dictionary<string, int>(), state?.UpdatedAt));
        }
        return result;
    }

    /// <summary>A model's versions (oldest first) with their aliases, and its serving state. Throws 404 for an unknown model.</summary>
    public async Task<ModelDetails> GetModelAsync(string model, CancellationToken cancellationToken = default)
    {
        var state = await GetStateAsync(model, cancellationToken).ConfigureAwait(false);
        var versions = await ListVersionsAsync(model, cancellationToken).ConfigureAwait(false);
        return new ModelDetails(model, versions.Select(v => WithAliases(v, state)).ToList(), state);
    }

    /// <summary>A model's versions, oldest first (archived included; see <see cref="ModelVersion.Status"/>).</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string model, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        var rows = await _tables.QueryAsync(_options.Table, model, "v", "w", cancellationToken).ConfigureAwait(false);
        return rows.Select(r => FromRow(model, r)).ToList();
    }

    /// <summary>One version with its aliases; throws a 404 <see cref="RegistryException"/> when missing.</summary>
    public async Task<ModelVersion> GetVersionAsync(string model, int version, CancellationToken cancellationToken = default)
    {
        var v = await FindVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        if (v is null)
        {
            if (await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false) is null) throw RegistryException.UnknownModel(model);
            throw RegistryException.UnknownVersion(model, version);
        }
        var state = await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false);
        return state is null ? v : WithAliases(v, state);
    }

    /// <summary>One version, or null when it does not exist.</summary>
    public async Task<ModelVersion?> FindVersionAsync(string model, int version, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        if (version < 1) return null;
        var row = await _tables.GetAsync(_options.Table, model, VersionRowKey(version), cancellationToken).ConfigureAwait(false);
        return row is null ? null : FromRow(model, row);
    }

    /// <summary>The bytes of a version's <c>model.json</c>; 404 when missing.</summary>
    public async Task<byte[]> ReadModelFileAsync(string model, int version, CancellationToken cancellationToken = default)
    {
        var v = await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        var blob = await _blobs.ReadAsync(_options.Container, v.ModelPath, cancellationToken).ConfigureAwait(false);
        return blob?.Data ?? throw new RegistryException("registry.missing_file", $"The model file of {model} v{version} is missing from '{_options.Container}/{v.ModelPath}'.", 404);
    }

    /// <summary>A version's lineage (data, params, code, environment), or null when it was not stored.</summary>
    public async Task<ModelLineage?> ReadLineageAsync(string model, int version, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        var blob = await _blobs.ReadAsync(_options.Container, $"{model}/v{version}/lineage.json", cancellationToken).ConfigureAwait(false);
        return blob is null ? null : Json.Deserialize<ModelLineage>(blob.Data);
    }

    /// <summary>The current aliases and traffic; throws 404 for an unknown model.</summary>
    public async Task<ServingState> GetStateAsync(string model, CancellationToken cancellationToken = default) =>
        await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false) ?? throw RegistryException.UnknownModel(model);

    /// <summary>The current aliases and traffic, or null for an unknown model. One point read (serving polls this).</summary>
    public async Task<ServingState?> TryGetStateAsync(string model, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        var row = await _tables.GetAsync(_options.Table, model, StateRow, cancellationToken).ConfigureAwait(false);
        return row is null ? null : ParseState(model, row);
    }

    // ------------------------------------------------------------------ history

    /// <summary>The change history, oldest first; with <paramref name="until"/> only changes committed at or before it.</summary>
    public async Task<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string model, DateTimeOffset? until = null, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        var rows = await _tables.QueryAsync(_options.Table, model, "h", "i", cancellationToken).ConfigureAwait(false);
        var entries = rows.Select(r => Json.Deserialize<HistoryEntry>(r.GetString("Entry") ?? "{}")!).OrderBy(e => e.Revision);
        return until is null ? entries.ToList() : entries.Where(e => e.At <= until.Value).ToList();
    }

    /// <summary>
    /// What served at time <paramref name="at"/>: the aliases and traffic in force then (the last change committed at or
    /// before it). Returns an entry with revision 0 and no aliases when nothing had been set yet.
    /// </summary>
    public async Task<HistoryEntry> GetStateAtAsync(string model, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        if (await TryGetStateAsync(model, cancellationToken).ConfigureAwait(false) is null) throw RegistryException.UnknownModel(model);
        var history = await GetHistoryAsync(model, at, cancellationToken).ConfigureAwait(false);
        return history.Count > 0 ? history[^1] : new HistoryEntry { Model = model, Revision = 0, At = at, Reason = "No alias or traffic had been set at that time." };
    }

    /// <summary>The version an alias pointed to at time <paramref name="at"/>, or null.</summary>
    public async Task<int?> GetAliasAtAsync(string model, string alias, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var entry = await GetStateAtAsync(model, at, cancellationToken).ConfigureAwait(false);
        return entry.Aliases.TryGetValue(alias, out var v) ? v : null;
    }

    // ------------------------------------------------------------------ alias, promotion, traffic

    /// <summary>
    /// Points <paramref name="alias"/> at <paramref name="version"/> in one ETag-guarded write. Setting
    /// <c>production</c> this way is a manual promotion (<see cref="PromoteAsync"/> with <c>force</c>).
    /// Throws 409 when a concurrent change won.
    /// </summary>
    public Task<HistoryEntry> SetAliasAsync(string model, string alias, int version, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckAlias(alias);
        if (alias == ProductionAlias) return PromoteAsync(model, version, change, force: true, cancellationToken);
        return ChangeAsync(model, retry: false, async (state, ct) =>
        {
            await RequireActiveAsync(model, version, ct).ConfigureAwait(false);
            int? from = state.Doc.Aliases.TryGetValue(alias, out var f) ? f : null;
            if (from == version) return null;
            state.Doc.Aliases[alias] = version;
            return new Pending(ChangeKind.SetAlias, alias, from, version);
        }, change, cancellationToken);
    }

    /// <summary>Removes an alias (recorded in history). No-op when it does not exist.</summary>
    public Task<HistoryEntry> RemoveAliasAsync(string model, string alias, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckAlias(alias);
        return ChangeAsync(model, retry: false, (state, ct) =>
        {
            if (!state.Doc.Aliases.Remove(alias, out var from)) return Task.FromResult<Pending?>(null);
            if (alias == ProductionAlias) state.Doc.Traffic = null;
            return Task.FromResult<Pending?>(new Pending(ChangeKind.RemoveAlias, alias, from, null));
        }, change, cancellationToken);
    }

    /// <summary>
    /// Makes <paramref name="version"/> production in one ETag-guarded write: the previous production goes on the
    /// rollback stack and any traffic split is cleared (the promoted version answers 100%). Refuses (409) a version whose
    /// recorded gate decision failed or whose approval was rejected, unless <paramref name="force"/>. Idempotent:
    /// promoting the current production returns the current state without writing. Throws 409 when a concurrent change won.
    /// </summary>
    public Task<HistoryEntry> PromoteAsync(string model, int version, ChangeContext? change = null, bool force = false, CancellationToken cancellationToken = default) =>
        ChangeAsync(model, retry: false, async (state, ct) =>
        {
            var v = await RequireActiveAsync(model, version, ct).ConfigureAwait(false);
            if (!force && v.Gate is { Passed: false })
                throw new RegistryException("registry.gate_failed", $"{model} v{version} failed the evaluation gate: {string.Join(" ", v.Gate.Reasons.Take(2))} Use force to override.", 409);
            if (!force && v.Approval == ApprovalState.Rejected)
                throw new RegistryException("registry.rejected", $"{model} v{version} was rejected ({v.ApprovalNote}). Use force to override.", 409);
            int? from = state.Doc.Aliases.TryGetValue(ProductionAlias, out var p) ? p : null;
            if (from == version && state.Doc.Traffic is null) return null;
            if (from is int previous && previous != version)
            {
                state.Doc.PreviousProduction.Add(previous);
                if (state.Doc.PreviousProduction.Count > _options.RollbackDepth) state.Doc.PreviousProduction.RemoveAt(0);
            }
            state.Doc.Aliases[ProductionAlias] = version;
            state.Doc.Traffic = null;
            return new Pending(ChangeKind.Promote, ProductionAlias, from, version);
        }, change, cancellationToken);

    /// <summary>
    /// Returns production to the version it had before the last promotion (skipping archived versions) and clears any
    /// traffic split, in one ETag-guarded write. Repeated calls walk further back. 409 when there is no earlier
    /// production or a concurrent change won.
    /// </summary>
    public Task<HistoryEntry> RollbackAsync(string model, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(model, retry: false, async (state, ct) =>
        {
            int? current = state.Doc.Aliases.TryGetValue(ProductionAlias, out var c) ? c : null;
            while (state.Doc.PreviousProduction.Count > 0)
            {
                int candidate = state.Doc.PreviousProduction[^1];
                state.Doc.PreviousProduction.RemoveAt(state.Doc.PreviousProduction.Count - 1);
                if (candidate == current) continue;
                var v = await FindVersionAsync(model, candidate, ct).ConfigureAwait(false);
                if (v is null || v.Status == VersionStatus.Archived) continue;
                state.Doc.Aliases[ProductionAlias] = candidate;
                state.Doc.Traffic = null;
                return new Pending(ChangeKind.Rollback, ProductionAlias, current, candidate);
            }
            throw new RegistryException("registry.no_previous_production", $"Model '{model}' has no earlier production version to roll back to.", 409);
        }, change, cancellationToken);

    /// <summary>
    /// Sets the traffic split (A/B, canary) and shadow versions in one ETag-guarded write. Validated: weights are
    /// 0..100 and sum to 100, versions are distinct, exist and are active. An empty config means 100% production.
    /// </summary>
    public Task<HistoryEntry> SetTrafficAsync(string model, TrafficConfig config, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        return ChangeAsync(model, retry: false, async (state, ct) =>
        {
            await ValidateTrafficAsync(model, config, state.Doc, ct).ConfigureAwait(false);
            bool empty = config.Routes.Count == 0 && config.Shadow.Count == 0 && config.AutoRollback is null;
            state.Doc.Traffic = empty ? null : config;
            return new Pending(ChangeKind.Traffic, null, null, null);
        }, change, cancellationToken);
    }

    /// <summary>
    /// Serving's automatic rollback: removes <paramref name="canaryVersion"/> from the traffic split, sending all traffic
    /// back to production. Retries on concurrent changes; returns null when the canary no longer receives traffic
    /// (another host already rolled it back).
    /// </summary>
    public async Task<HistoryEntry?> AutoRollbackAsync(string model, int canaryVersion, string reason, string? actor = null, CancellationToken cancellationToken = default)
    {
        bool changed = false;
        var entry = await ChangeAsync(model, retry: true, (state, ct) =>
        {
            if (state.Doc.Traffic is not { } t || !t.Routes.Any(r => r.Version == canaryVersion && r.Weight > 0)) return Task.FromResult<Pending?>(null);
            changed = true;
            var rest = t with { Routes = [] };
            state.Doc.Traffic = rest.Shadow.Count == 0 ? null : rest;
            return Task.FromResult<Pending?>(new Pending(ChangeKind.AutoRollback, null, canaryVersion, state.Doc.Aliases.GetValueOrDefault(ProductionAlias)));
        }, new ChangeContext(reason, actor ?? "serving"), cancellationToken).ConfigureAwait(false);
        return changed ? entry : null;
    }

    private async Task ValidateTrafficAsync(string model, TrafficConfig config, StateDoc doc, CancellationToken ct)
    {
        var errors = new List<string>();
        if (config.Routes.Count > 0)
        {
            int sum = 0;
            foreach (var r in config.Routes)
            {
                if (r.Weight is < 0 or > 100) errors.Add($"route to v{r.Version}: weight {r.Weight} is outside 0..100");
                sum += r.Weight;
            }
            if (sum != 100) errors.Add($"route weights sum to {sum}, not 100");
            foreach (var dup in config.Routes.GroupBy(r => r.Version).Where(g => g.Count() > 1)) errors.Add($"version {dup.Key} appears in more than one route");
        }
        else if (!doc.Aliases.ContainsKey(ProductionAlias))
        {
            errors.Add("no routes were given and the model has no production alias to answer");
        }
        foreach (var dup in config.Shadow.GroupBy(v => v).Where(g => g.Count() > 1)) errors.Add($"shadow version {dup.Key} is listed twice");
        if (config.Shadow.Count > 4) errors.Add("at most 4 shadow versions are supported (each costs a prediction per request)");
        if (config.AutoRollback is { } ar)
        {
            if (ar.MaxErrorRate is double e && (e < 0 || e > 1 || !double.IsFinite(e))) errors.Add("autoRollback.maxErrorRate must be within 0..1");
            if (ar.MaxP99LatencyMs is double l && (l <= 0 || !double.IsFinite(l))) errors.Add("autoRollback.maxP99LatencyMs must be positive");
            if (ar.MinRequests < 1) errors.Add("autoRollback.minRequests must be ≥ 1");
            if (ar.WindowSeconds is < 1 or > 3600) errors.Add("autoRollback.windowSeconds must be 1..3600");
            if (ar.MaxErrorRate is null && ar.MaxP99LatencyMs is null) errors.Add("autoRollback needs maxErrorRate or maxP99LatencyMs");
        }
        foreach (int version in config.Routes.Select(r => r.Version).Concat(config.Shadow).Distinct())
        {
            var v = await FindVersionAsync(model, version, ct).ConfigureAwait(false);
            if (v is null) errors.Add($"version {version} does not exist");
            else if (v.Status == VersionStatus.Archived) errors.Add($"version {version} is archived");
        }
        if (errors.Count > 0) throw new RegistryException("registry.invalid_traffic", $"Invalid traffic for '{model}': {string.Join("; ", errors)}.");
    }

    // ------------------------------------------------------------------ version updates

    /// <summary>
    /// Archives a version (kept for audit, no longer aliasable or routable). Refused (409) while an alias or a route
    /// points at it. Recorded in history.
    /// </summary>
    public async Task<ModelVersion> ArchiveAsync(string model, int version, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        await ChangeAsync(model, retry: true, async (state, ct) =>
        {
            var v = await FindVersionAsync(model, version, ct).ConfigureAwait(false) ?? throw RegistryException.UnknownVersion(model, version);
            if (v.Status == VersionStatus.Archived) return null;
            var aliases = state.Doc.Aliases.Where(a => a.Value == version).Select(a => a.Key).ToList();
            if (aliases.Count > 0) throw new RegistryException("registry.version_in_use", $"{model} v{version} is still aliased as {string.Join(", ", aliases)}; move the alias first.", 409);
            if (state.Doc.Traffic is { } t && (t.Routes.Any(r => r.Version == version) || t.Shadow.Contains(version)))
                throw new RegistryException("registry.version_in_use", $"{model} v{version} still receives traffic; change the traffic first.", 409);
            state.Doc.PreviousProduction.RemoveAll(p => p == version);
            var merge = new TableRow(model, VersionRowKey(version)) { ["Status"] = nameof(VersionStatus.Archived) };
            return new Pending(ChangeKind.Archive, null, version, null, [new TableOperation(TableOperationKind.Merge, merge)]);
        }, change, cancellationToken).ConfigureAwait(false);
        return await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a manual approval decision on the version row (the orchestration waiting for it is signalled by the
    /// caller). <see cref="ApprovalState.Approved"/> and <see cref="ApprovalState.Rejected"/> are recorded in history.
    /// </summary>
    public async Task<ModelVersion> SetApprovalAsync(string model, int version, ApprovalState approval, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var merge = new TableRow(model, VersionRowKey(version))
        {
            ["Approval"] = approval.ToString(),
            ["ApprovalNote"] = Truncate($"{change?.Actor ?? "unknown"}: {change?.Reason ?? "(no reason)"}", 1000),
        };
        if (approval is ApprovalState.Approved or ApprovalState.Rejected)
        {
            await ChangeAsync(model, retry: true, async (state, ct) =>
            {
                await RequireActiveAsync(model, version, ct).ConfigureAwait(false);
                return new Pending(ChangeKind.Approval, null, null, version, [new TableOperation(TableOperationKind.Merge, merge)]);
            }, (change ?? new ChangeContext()) with { Reason = $"{approval}: {change?.Reason}" }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RequireActiveAsync(model, version, cancellationToken).ConfigureAwait(false);
            await _tables.ExecuteAsync(_options.Table, new TableOperation(TableOperationKind.Merge, merge), cancellationToken).ConfigureAwait(false);
        }
        return await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores the gate decision with the version (row and <c>gate.json</c>).</summary>
    public async Task<ModelVersion> RecordGateDecisionAsync(string model, int version, GateDecision decision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(decision);
        await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        await _blobs.WriteAsync(_options.Container, $"{model}/v{version}/gate.json", Json.SerializeToUtf8(decision, indented: true), cancellationToken: cancellationToken).ConfigureAwait(false);
        var merge = new TableRow(model, VersionRowKey(version)) { ["Gate"] = TruncateJson(Json.Serialize(decision), Json.Serialize(decision with { Slices = [], Reasons = decision.Reasons.Take(5).ToList() })) };
        await _tables.ExecuteAsync(_options.Table, new TableOperation(TableOperationKind.Merge, merge), cancellationToken).ConfigureAwait(false);
        return await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Two versions' metrics side by side (overall and per slice as <c>slice/metric</c>), with lineage highlights.</summary>
    public async Task<VersionComparison> CompareAsync(string model, int a, int b, CancellationToken cancellationToken = default)
    {
        var va = await GetVersionAsync(model, a, cancellationToken).ConfigureAwait(false);
        var vb = await GetVersionAsync(model, b, cancellationToken).ConfigureAwait(false);
        var ma = await ReadMetricsAsync(va, cancellationToken).ConfigureAwait(false);
        var mb = await ReadMetricsAsync(vb, cancellationToken).ConfigureAwait(false);
        var rows = new List<MetricDelta>();
        foreach (string name in ma.Overall.Keys.Union(mb.Overall.Keys).Order(StringComparer.Ordinal))
            rows.Add(Delta(name, name, ma.Overall, mb.Overall));
        var slices = ((IEnumerable<string>?)ma.Slices?.Keys ?? []).Union((IEnumerable<string>?)mb.Slices?.Keys ?? []).Order(StringComparer.Ordinal);
        foreach (string slice in slices)
        {
            var sa = ma.Slices?.GetValueOrDefault(slice) ?? new Dictionary<string, double>();
            var sb = mb.Slices?.GetValueOrDefault(slice) ?? new Dictionary<string, double>();
            foreach (string name in sa.Keys.Union(sb.Keys).Order(StringComparer.Ordinal))
                rows.Add(Delta($"{slice}/{name}", name, sa, sb));
        }
        return new VersionComparison(model, a, b, rows, va.DataHash, vb.DataHash, va.CodeVersion, vb.CodeVersion);

        static MetricDelta Delta(string label, string metric, Dictionary<string, double> x, Dictionary<string, double> y)
        {
            double? va = x.TryGetValue(metric, out var p) ? p : null, vb = y.TryGetValue(metric, out var q) ? q : null;
            double? d = va is double l && vb is double r ? r - l : null;
            string? better = null;
            if (d is double dd && MetricDirections.HigherIsBetter(metric) is bool higher)
                better = Math.Abs(dd) < 1e-12 ? "equal" : (dd > 0) == higher ? "b" : "a";
            return new MetricDelta(label, va, vb, d, better);
        }
    }

    private async Task<ModelMetrics> ReadMetricsAsync(ModelVersion v, CancellationToken ct)
    {
        // The row may hold a trimmed copy (table properties are limited to 64 KB); the blob has everything.
        var blob = await _blobs.ReadAsync(_options.Container, $"{v.Model}/v{v.Version}/metrics.json", ct).ConfigureAwait(false);
        return blob is null ? v.Metrics : Json.Deserialize<ModelMetrics>(blob.Data) ?? v.Metrics;
    }

    private async Task<ModelVersion> RequireActiveAsync(string model, int version, CancellationToken ct)
    {
        var v = await FindVersionAsync(model, version, ct).ConfigureAwait(false) ?? throw RegistryException.UnknownVersion(model, version);
        if (v.Status == VersionStatus.Archived) throw new RegistryException("registry.archived", $"{model} v{version} is archived.", 409);
        return v;
    }

    // ------------------------------------------------------------------ the one write path for state changes

    private sealed class StateDoc
    {
        public Dictionary<string, int> Aliases { get; set; } = new(StringComparer.Ordinal);
        public TrafficConfig? Traffic { get; set; }
        public List<int> PreviousProduction { get; set; } = [];
    }

    private sealed record LoadedState(TableRow Row, StateDoc Doc, long Revision);

    private sealed record Pending(ChangeKind Kind, string? Alias, int? From, int? To, IReadOnlyList<TableOperation>? Extra = null);

    private async Task<HistoryEntry> ChangeAsync(string model, bool retry, Func<LoadedState, CancellationToken, Task<Pending?>> decide, ChangeContext? change, CancellationToken ct)
    {
        RegistryNames.CheckModel(model);
        for (int attempt = 0; ; attempt++)
        {
            var row = await _tables.GetAsync(_options.Table, model, StateRow, ct).ConfigureAwait(false) ?? throw RegistryException.UnknownModel(model);
            var doc = Json.Deserialize<StateDoc>(row.GetString("State") ?? "{}") ?? new StateDoc();
            doc.Aliases = new Dictionary<string, int>(doc.Aliases, StringComparer.Ordinal);
            long revision = row.GetLong("Revision") ?? 0;
            var pending = await decide(new LoadedState(row, doc, revision), ct).ConfigureAwait(false);
            if (pending is null)
            {
                // Nothing to change (idempotent repeat): describe the current state without writing.
                var current = ParseState(model, row);
                return new HistoryEntry { Model = model, Revision = revision, At = current.UpdatedAt, Aliases = current.Aliases, Traffic = current.Traffic, Reason = "unchanged" };
            }

            var now = _clock.UtcNow;
            var entry = new HistoryEntry
            {
                Model = model, Revision = revision + 1, At = now, Kind = pending.Kind, Alias = pending.Alias,
                FromVersion = pending.From, ToVersion = pending.To, Actor = change?.Actor, Reason = change?.Reason,
                Aliases = new SortedDictionary<string, int>(doc.Aliases, StringComparer.Ordinal), Traffic = doc.Traffic,
            };
            var newState = new TableRow(model, StateRow, etag: row.ETag)
            {
                ["State"] = Json.Serialize(doc),
                ["Revision"] = revision + 1,
                ["UpdatedAt"] = now,
            };
            var batch = new TableBatch().Replace(newState).Insert(new TableRow(model, HistoryRowKey(revision + 1))
            {
                ["Entry"] = Json.Serialize(entry),
                ["At"] = now,
                ["Kind"] = entry.Kind.ToString(),
            });
            foreach (var op in pending.Extra ?? []) batch.Add(op);
            try
            {
                await _tables.ExecuteBatchAsync(_options.Table, batch, ct).ConfigureAwait(false);
            }
            catch (StorageConflictException ex)
            {
                if (!retry || attempt >= 20) throw RegistryException.Conflict(model, ex);
                await Task.Delay(Random.Shared.Next(5, 30), ct).ConfigureAwait(false);
                continue;
            }
            if (_options.AppendHistoryBlob)
            {
                try
                {
                    await _blobs.AppendAsync(_options.Container, $"{model}/history.jsonl", Encoding.UTF8.GetBytes(Json.Serialize(entry) + "\n"), ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The table row is the record; the blob copy is an audit convenience and must not fail the change.
                }
            }
            return entry;
        }
    }

    private static ServingState ParseState(string model, TableRow row)
    {
        var doc = Json.Deserialize<StateDoc>(row.GetString("State") ?? "{}") ?? new StateDoc();
        return new ServingState
        {
            Model = model,
            Revision = row.GetLong("Revision") ?? 0,
            ETag = row.ETag,
            Aliases = new Dictionary<string, int>(doc.Aliases, StringComparer.Ordinal),
            Traffic = doc.Traffic,
            PreviousProduction = doc.PreviousProduction,
            UpdatedAt = row.GetDate("UpdatedAt") ?? row.Timestamp ?? DateTimeOffset.MinValue,
        };
    }

    private static ModelVersion WithAliases(ModelVersion v, ServingState state) =>
        v with { Aliases = state.Aliases.Where(a => a.Value == v.Version).Select(a => a.Key).Order(StringComparer.Ordinal).ToList() };

    private static TableRow ToRow(ModelVersion v)
    {
        string metrics = TruncateJson(Json.Serialize(v.Metrics), Json.Serialize(v.Metrics with { Slices = null }));
        var row = new TableRow(v.Model, VersionRowKey(v.Version))
        {
            ["Version"] = v.Version,
            ["Status"] = v.Status.ToString(),
            ["CreatedAt"] = v.CreatedAt,
            ["Metrics"] = metrics,
            ["ModelPath"] = v.ModelPath,
            ["ModelBytes"] = v.ModelBytes,
            ["Approval"] = v.Approval.ToString(),
        };
        if (v.RunId is not null) row["RunId"] = Truncate(v.RunId, 1000);
        if (v.DataHash is not null) row["DataHash"] = v.DataHash;
        if (v.CodeVersion is not null) row["CodeVersion"] = Truncate(v.CodeVersion, 200);
        if (v.Description is not null) row["Description"] = Truncate(v.Description, 2000);
        if (v.Gate is not null) row["Gate"] = TruncateJson(Json.Serialize(v.Gate), Json.Serialize(v.Gate with { Slices = [], Reasons = v.Gate.Reasons.Take(5).ToList() }));
        return row;
    }

    private static ModelVersion FromRow(string model, TableRow r) => new()
    {
        Model = model,
        Version = (int)(r.GetLong("Version") ?? int.Parse(r.RowKey.AsSpan(1))),
        Status = Enum.TryParse<VersionStatus>(r.GetString("Status"), out var s) ? s : VersionStatus.Active,
        CreatedAt = r.GetDate("CreatedAt") ?? r.Timestamp ?? default,
        RunId = r.GetString("RunId"),
        Metrics = r.GetString("Metrics") is { } m ? Json.Deserialize<ModelMetrics>(m) ?? ModelMetrics.Empty : ModelMetrics.Empty,
        DataHash = r.GetString("DataHash"),
        CodeVersion = r.GetString("CodeVersion"),
        ModelPath = r.GetString("ModelPath") ?? $"{model}/v{r.RowKey.TrimStart('v').TrimStart('0')}/model.json",
        ModelBytes = r.GetLong("ModelBytes") ?? 0,
        Gate = r.GetString("Gate") is { } g ? Json.Deserialize<GateDecision>(g) : null,
        Approval = Enum.TryParse<ApprovalState>(r.GetString("Approval"), out var a) ? a : ApprovalState.None,
        ApprovalNote = r.GetString("ApprovalNote"),
        Description = r.GetString("Description"),
    };

    // Table string properties hold at most 32K UTF-16 characters: fall back to a smaller form (the blob keeps all).
    private static string TruncateJson(string full, string smaller) => full.Length <= 30_000 ? full : smaller.Length <= 30_000 ? smaller : "{}";

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
