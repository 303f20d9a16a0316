using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Registry.Gate;

namespace Mlops.Registry;

/// <summary>Aliases, promotion, rollback, traffic splits and version updates: every change goes through
/// <c>ChangeAsync</c>.</summary>
public sealed partial class ModelRegistry
{
    // ------------------------------------------------------------------ alias, promotion, traffic

    /// <summary>
    /// Points <paramref name="alias"/> at <paramref name="version"/> in one ETag-guarded write. Setting
    /// <c>production</c> this way is a manual promotion (<see cref="PromoteAsync"/> with <c>force</c>).
    /// Throws 409 when a concurrent change won.
    /// </summary>
    public Task<HistoryEntry> SetAliasAsync(
        string model,
        string alias,
        int version,
        ChangeContext? change = null,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckAlias(alias);
        if (alias == ProductionAlias)
            return PromoteAsync(model, version, change, force: true, cancellationToken);
        return ChangeAsync(
            model,
            retry: false,
            async (state, ct) =>
            {
                await RequireActiveAsync(model, version, ct).ConfigureAwait(false);
                int? from = state.Doc.Aliases.TryGetValue(alias, out var f) ? f : null;
                if (from == version)
                    return null;
                state.Doc.Aliases[alias] = version;
                return new Pending(ChangeKind.SetAlias, alias, from, version);
            },
            change,
            cancellationToken
        );
    }

    /// <summary>Removes an alias (recorded in history). No-op when it does not exist.</summary>
    public Task<HistoryEntry> RemoveAliasAsync(
        string model,
        string alias,
        ChangeContext? change = null,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckAlias(alias);
        return ChangeAsync(
            model,
            retry: false,
            (state, ct) =>
            {
                if (!state.Doc.Aliases.Remove(alias, out var from))
                    return Task.FromResult<Pending?>(null);
                if (alias == ProductionAlias)
                    state.Doc.Traffic = null;
                return Task.FromResult<Pending?>(new Pending(ChangeKind.RemoveAlias, alias, from, null));
            },
            change,
            cancellationToken
        );
    }

    /// <summary>
    /// Makes <paramref name="version"/> production in one ETag-guarded write: the previous production goes on the
    /// rollback stack and any traffic split is cleared (the promoted version answers 100%). Refuses (409) a version
    /// whose recorded gate decision failed or whose approval was rejected, unless <paramref name="force"/>. Idempotent:
    /// promoting the current production returns the current state without writing. Throws 409 when a concurrent change
    /// won.
    /// </summary>
    public Task<HistoryEntry> PromoteAsync(
        string model,
        int version,
        ChangeContext? change = null,
        bool force = false,
        CancellationToken cancellationToken = default
    ) =>
        ChangeAsync(
            model,
            retry: false,
            async (state, ct) =>
            {
                var v = await RequireActiveAsync(model, version, ct).ConfigureAwait(false);
                if (!force && v.Gate is { Passed: false })
                    throw new RegistryException(
                        "registry.gate_failed",
                        $"{model} v{version} failed the evaluation gate: {string.Join(" ", v.Gate.Reasons.Take(2))} Use force to override.",
                        409
                    );
                if (!force && v.Approval == ApprovalState.Rejected)
                    throw new RegistryException(
                        "registry.rejected",
                        $"{model} v{version} was rejected ({v.ApprovalNote}). Use force to override.",
                        409
                    );
                int? from = state.Doc.Aliases.TryGetValue(ProductionAlias, out var p) ? p : null;
                if (from == version && state.Doc.Traffic is null)
                    return null;
                if (from is int previous && previous != version)
                {
                    state.Doc.PreviousProduction.Add(previous);
                    if (state.Doc.PreviousProduction.Count > _options.RollbackDepth)
                        state.Doc.PreviousProduction.RemoveAt(0);
                }
                state.Doc.Aliases[ProductionAlias] = version;
                state.Doc.Traffic = null;
                return new Pending(ChangeKind.Promote, ProductionAlias, from, version);
            },
            change,
            cancellationToken
        );

    /// <summary>
    /// Returns production to the version it had before the last promotion (skipping archived versions) and clears any
    /// traffic split, in one ETag-guarded write. Repeated calls walk further back. 409 when there is no earlier
    /// production or a concurrent change won.
    /// </summary>
    public Task<HistoryEntry> RollbackAsync(
        string model,
        ChangeContext? change = null,
        CancellationToken cancellationToken = default
    ) =>
        ChangeAsync(
            model,
            retry: false,
            async (state, ct) =>
            {
                int? current = state.Doc.Aliases.TryGetValue(ProductionAlias, out var c) ? c : null;
                while (state.Doc.PreviousProduction.Count > 0)
                {
                    int candidate = state.Doc.PreviousProduction[^1];
                    state.Doc.PreviousProduction.RemoveAt(state.Doc.PreviousProduction.Count - 1);
                    if (candidate == current)
                        continue;
                    var v = await FindVersionAsync(model, candidate, ct).ConfigureAwait(false);
                    if (v is null || v.Status == VersionStatus.Archived)
                        continue;
                    state.Doc.Aliases[ProductionAlias] = candidate;
                    state.Doc.Traffic = null;
                    return new Pending(ChangeKind.Rollback, ProductionAlias, current, candidate);
                }
                throw new RegistryException(
                    "registry.no_previous_production",
                    $"Model '{model}' has no earlier production version to roll back to.",
                    409
                );
            },
            change,
            cancellationToken
        );

    /// <summary>
    /// Sets the traffic split (A/B, canary) and shadow versions in one ETag-guarded write. Validated: weights are
    /// 0..100 and sum to 100, versions are distinct, exist and are active. An empty config means 100% production.
    /// </summary>
    public Task<HistoryEntry> SetTrafficAsync(
        string model,
        TrafficConfig config,
        ChangeContext? change = null,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(config);
        return ChangeAsync(
            model,
            retry: false,
            async (state, ct) =>
            {
                await ValidateTrafficAsync(model, config, state.Doc, ct).ConfigureAwait(false);
                bool empty = config.Routes.Count == 0 && config.Shadow.Count == 0 && config.AutoRollback is null;
                state.Doc.Traffic = empty ? null : config;
                return new Pending(ChangeKind.Traffic, null, null, null);
            },
            change,
            cancellationToken
        );
    }

    /// <summary>
    /// Serving's automatic rollback: removes <paramref name="canaryVersion"/> from the traffic split, sending all
    /// traffic back to production. Retries on concurrent changes; returns null when the canary no longer receives
    /// traffic (another host already rolled it back).
    /// </summary>
    public async Task<HistoryEntry?> AutoRollbackAsync(
        string model,
        int canaryVersion,
        string reason,
        string? actor = null,
        CancellationToken cancellationToken = default
    )
    {
        bool changed = false;
        var entry = await ChangeAsync(
                model,
                retry: true,
                (state, ct) =>
                {
                    if (
                        state.Doc.Traffic is not { } t
                        || !t.Routes.Any(r => r.Version == canaryVersion && r.Weight > 0)
                    )
                        return Task.FromResult<Pending?>(null);
                    changed = true;
                    var rest = t with { Routes = [] };
                    state.Doc.Traffic = rest.Shadow.Count == 0 ? null : rest;
                    return Task.FromResult<Pending?>(
                        new Pending(
                            ChangeKind.AutoRollback,
                            null,
                            canaryVersion,
                            state.Doc.Aliases.GetValueOrDefault(ProductionAlias)
                        )
                    );
                },
                new ChangeContext(reason, actor ?? "serving"),
                cancellationToken
            )
            .ConfigureAwait(false);
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
                if (r.Weight is < 0 or > 100)
                    errors.Add($"route to v{r.Version}: weight {r.Weight} is outside 0..100");
                sum += r.Weight;
            }
            if (sum != 100)
                errors.Add($"route weights sum to {sum}, not 100");
            foreach (var dup in config.Routes.GroupBy(r => r.Version).Where(g => g.Count() > 1))
                errors.Add($"version {dup.Key} appears in more than one route");
        }
        else if (!doc.Aliases.ContainsKey(ProductionAlias))
        {
            errors.Add("no routes were given and the model has no production alias to answer");
        }
        foreach (var dup in config.Shadow.GroupBy(v => v).Where(g => g.Count() > 1))
            errors.Add($"shadow version {dup.Key} is listed twice");
        if (config.Shadow.Count > 4)
            errors.Add("at most 4 shadow versions are supported (each costs a prediction per request)");
        if (config.AutoRollback is { } ar)
        {
            if (ar.MaxErrorRate is double e && (e < 0 || e > 1 || !double.IsFinite(e)))
                errors.Add("autoRollback.maxErrorRate must be within 0..1");
            if (ar.MaxP99LatencyMs is double l && (l <= 0 || !double.IsFinite(l)))
                errors.Add("autoRollback.maxP99LatencyMs must be positive");
            if (ar.MinRequests < 1)
                errors.Add("autoRollback.minRequests must be ≥ 1");
            if (ar.WindowSeconds is < 1 or > 3600)
                errors.Add("autoRollback.windowSeconds must be 1..3600");
            if (ar.MaxErrorRate is null && ar.MaxP99LatencyMs is null)
                errors.Add("autoRollback needs maxErrorRate or maxP99LatencyMs");
        }
        foreach (int version in config.Routes.Select(r => r.Version).Concat(config.Shadow).Distinct())
        {
            var v = await FindVersionAsync(model, version, ct).ConfigureAwait(false);
            if (v is null)
                errors.Add($"version {version} does not exist");
            else if (v.Status == VersionStatus.Archived)
                errors.Add($"version {version} is archived");
        }
        if (errors.Count > 0)
            throw new RegistryException(
                "registry.invalid_traffic",
                $"Invalid traffic for '{model}': {string.Join("; ", errors)}."
            );
    }

    // ------------------------------------------------------------------ version updates

    /// <summary>
    /// Archives a version (kept for audit, no longer aliasable or routable). Refused (409) while an alias or a route
    /// points at it. Recorded in history.
    /// </summary>
    public async Task<ModelVersion> ArchiveAsync(
        string model,
        int version,
        ChangeContext? change = null,
        CancellationToken cancellationToken = default
    )
    {
        await ChangeAsync(
                model,
                retry: true,
                async (state, ct) =>
                {
                    var v = await FindVersionAsync(model, version, ct).ConfigureAwait(false)
                        ?? throw RegistryException.UnknownVersion(model, version);
                    if (v.Status == VersionStatus.Archived)
                        return null;
                    var aliases = state.Doc.Aliases.Where(a => a.Value == version).Select(a => a.Key).ToList();
                    if (aliases.Count > 0)
                        throw new RegistryException(
                            "registry.version_in_use",
                            $"{model} v{version} is still aliased as {string.Join(", ", aliases)}; move the alias first.",
                            409
                        );
                    if (
                        state.Doc.Traffic is { } t
                        && (t.Routes.Any(r => r.Version == version) || t.Shadow.Contains(version))
                    )
                        throw new RegistryException(
                            "registry.version_in_use",
                            $"{model} v{version} still receives traffic; change the traffic first.",
                            409
                        );
                    state.Doc.PreviousProduction.RemoveAll(p => p == version);
                    var merge = new TableRow(model, VersionRowKey(version))
                    {
                        ["Status"] = nameof(VersionStatus.Archived),
                    };
                    return new Pending(
                        ChangeKind.Archive,
                        null,
                        version,
                        null,
                        [new TableOperation(TableOperationKind.Merge, merge)]
                    );
                },
                change,
                cancellationToken
            )
            .ConfigureAwait(false);
        return await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a manual approval decision on the version row (the orchestration waiting for it is signalled by the
    /// caller). <see cref="ApprovalState.Approved"/> and <see cref="ApprovalState.Rejected"/> are recorded in history.
    /// </summary>
    public async Task<ModelVersion> SetApprovalAsync(
        string model,
        int version,
        ApprovalState approval,
        ChangeContext? change = null,
        CancellationToken cancellationToken = default
    )
    {
        var merge = new TableRow(model, VersionRowKey(version))
        {
            ["Approval"] = approval.ToString(),
            ["ApprovalNote"] = Truncate($"{change?.Actor ?? "unknown"}: {change?.Reason ?? "(no reason)"}", 1000),
        };
        if (approval is ApprovalState.Approved or ApprovalState.Rejected)
        {
            await ChangeAsync(
                    model,
                    retry: true,
                    async (state, ct) =>
                    {
                        await RequireActiveAsync(model, version, ct).ConfigureAwait(false);
                        return new Pending(
                            ChangeKind.Approval,
                            null,
                            null,
                            version,
                            [new TableOperation(TableOperationKind.Merge, merge)]
                        );
                    },
                    (change ?? new ChangeContext()) with
                    {
                        Reason = $"{approval}: {change?.Reason}",
                    },
                    cancellationToken
                )
                .ConfigureAwait(false);
        }
        else
        {
            await RequireActiveAsync(model, version, cancellationToken).ConfigureAwait(false);
            await _tables
                .ExecuteAsync(_options.Table, new TableOperation(TableOperationKind.Merge, merge), cancellationToken)
                .ConfigureAwait(false);
        }
        return await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores the gate decision with the version (row and <c>gate.json</c>).</summary>
    public async Task<ModelVersion> RecordGateDecisionAsync(
        string model,
        int version,
        GateDecision decision,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(decision);
        await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        await _blobs
            .WriteAsync(
                _options.Container,
                $"{model}/v{version}/gate.json",
                Json.SerializeToUtf8(decision, indented: true),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        var merge = new TableRow(model, VersionRowKey(version))
        {
            ["Gate"] = TruncateJson(
                Json.Serialize(decision),
                Json.Serialize(decision with { Slices = [], Reasons = decision.Reasons.Take(5).ToList() })
            ),
        };
        await _tables
            .ExecuteAsync(_options.Table, new TableOperation(TableOperationKind.Merge, merge), cancellationToken)
            .ConfigureAwait(false);
        return await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Two versions' metrics side by side (overall and per slice as <c>slice/metric</c>), with lineage
    /// highlights.</summary>
    public async Task<VersionComparison> CompareAsync(
        string model,
        int a,
        int b,
        CancellationToken cancellationToken = default
    )
    {
        var va = await GetVersionAsync(model, a, cancellationToken).ConfigureAwait(false);
        var vb = await GetVersionAsync(model, b, cancellationToken).ConfigureAwait(false);
        var ma = await ReadMetricsAsync(va, cancellationToken).ConfigureAwait(false);
        var mb = await ReadMetricsAsync(vb, cancellationToken).ConfigureAwait(false);
        var rows = new List<MetricDelta>();
        foreach (string name in ma.Overall.Keys.Union(mb.Overall.Keys).Order(StringComparer.Ordinal))
            rows.Add(Delta(name, name, ma.Overall, mb.Overall));
        var slices = ((IEnumerable<string>?)ma.Slices?.Keys ?? [])
            .Union((IEnumerable<string>?)mb.Slices?.Keys ?? [])
            .Order(StringComparer.Ordinal);
        foreach (string slice in slices)
        {
            var sa = ma.Slices?.GetValueOrDefault(slice) ?? new Dictionary<string, double>();
            var sb = mb.Slices?.GetValueOrDefault(slice) ?? new Dictionary<string, double>();
            foreach (string name in sa.Keys.Union(sb.Keys).Order(StringComparer.Ordinal))
                rows.Add(Delta($"{slice}/{name}", name, sa, sb));
        }
        return new VersionComparison(model, a, b, rows, va.DataHash, vb.DataHash, va.CodeVersion, vb.CodeVersion);

        static MetricDelta Delta(
            string label,
            string metric,
            Dictionary<string, double> x,
            Dictionary<string, double> y
        )
        {
            double? va = x.TryGetValue(metric, out var p) ? p : null,
                vb = y.TryGetValue(metric, out var q) ? q : null;
            double? d = va is double l && vb is double r ? r - l : null;
            string? better = null;
            if (d is double dd && MetricDirections.HigherIsBetter(metric) is bool higher)
                better =
                    Math.Abs(dd) < 1e-12 ? "equal"
                    : (dd > 0) == higher ? "b"
                    : "a";
            return new MetricDelta(label, va, vb, d, better);
        }
    }

    private async Task<ModelMetrics> ReadMetricsAsync(ModelVersion v, CancellationToken ct)
    {
        // The row may hold a trimmed copy (table properties are limited to 64 KB); the blob has everything.
        var blob = await _blobs
            .ReadAsync(_options.Container, $"{v.Model}/v{v.Version}/metrics.json", ct)
            .ConfigureAwait(false);
        return blob is null ? v.Metrics : Json.Deserialize<ModelMetrics>(blob.Data) ?? v.Metrics;
    }

    private async Task<ModelVersion> RequireActiveAsync(string model, int version, CancellationToken ct)
    {
        var v = await FindVersionAsync(model, version, ct).ConfigureAwait(false)
            ?? throw RegistryException.UnknownVersion(model, version);
        if (v.Status == VersionStatus.Archived)
            throw new RegistryException("registry.archived", $"{model} v{version} is archived.", 409);
        return v;
    }
}
