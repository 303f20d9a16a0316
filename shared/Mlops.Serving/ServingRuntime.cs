using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Mlops.Registry;

namespace Mlops.Serving;

/// <summary>A model version loaded in this process, with its live statistics. Versions are immutable, so a loaded
/// version is cached for the life of the process and shared by every snapshot that routes to it.</summary>
internal sealed class LoadedVersion(string model, int version, IServableModel servable)
{
    public string Model { get; } = model;
    public int Version { get; } = version;
    public IServableModel Servable { get; } = servable;
    public VersionStats Stats { get; } = new();
}

/// <summary>
/// Immutable routing table of one model at one registry revision. A request reads it once (one volatile read) and
/// uses it to the end, so a concurrent swap can never give it a mix of old and new routing; every version it may route
/// to is already loaded before the snapshot is published.
/// </summary>
internal sealed class RoutingSnapshot
{
    public required ServingState State { get; init; }
    public required int[] RouteVersions { get; init; }

    /// <summary>Cumulative weights ending at 100; a bucket b in 0..99 goes to the first route with b &lt;
    /// cumulative.</summary>
    public required int[] Cumulative { get; init; }
    public required LoadedVersion[] RouteModels { get; init; }
    public required LoadedVersion[] Shadows { get; init; }
    public required IReadOnlyDictionary<int, LoadedVersion> Loaded { get; init; }

    /// <summary>Picks the route for a sticky bucket (0..99).</summary>
    public LoadedVersion? Route(int bucket)
    {
        var cumulative = Cumulative;
        for (int i = 0; i < cumulative.Length; i++)
            if (bucket < cumulative[i])
                return RouteModels[i];
        return null;
    }
}

/// <summary>Serving state of one model in this process: the current snapshot and the cache of loaded
/// versions.</summary>
internal sealed class ModelRouter(string model)
{
    private RoutingSnapshot? _snapshot;

    public string Model { get; } = model;

    public ConcurrentDictionary<int, Lazy<Task<LoadedVersion?>>> Versions { get; } = new();

    public SemaphoreSlim RefreshLock { get; } = new(1, 1);

    /// <summary>The published snapshot (atomic read; see <see cref="RoutingSnapshot"/>).</summary>
    public RoutingSnapshot? Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>Publishes a fully built snapshot in one atomic write.</summary>
    public void Publish(RoutingSnapshot snapshot) => Volatile.Write(ref _snapshot, snapshot);
}

/// <summary>
/// Keeps, per served model, a routing snapshot built from the registry's serving-state row. Models are loaded once and
/// cached; a background loop (see <see cref="ServingBackgroundService"/>) re-reads each state row every
/// <see cref="ServingOptions.PollInterval"/> and swaps the snapshot when its ETag changed, so promotions, rollbacks and
/// traffic changes reach every host within seconds without a restart.
/// </summary>
public sealed class ServingRuntime
{
    private readonly ModelRegistry _registry;
    private readonly IModelLoader _loader;
    private readonly ServingOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RouterEntry> _routers = new(StringComparer.Ordinal);

    private sealed record RouterEntry(Task<ModelRouter?> Task, DateTime CreatedUtc);

    /// <summary>Creates the runtime (one per process; registered by <c>AddServing</c>).</summary>
    public ServingRuntime(
        ModelRegistry registry,
        IModelLoader loader,
        ServingOptions options,
        ILogger<ServingRuntime> logger
    )
    {
        _registry = registry;
        _loader = loader;
        _options = options;
        _logger = logger;
    }

    /// <summary>Counters for this process.</summary>
    public ServingMetrics Metrics { get; } = new();

    /// <summary>Models this process currently serves (requested at least once).</summary>
    public IReadOnlyCollection<string> ServedModels =>
        _routers
            .Where(r => r.Value.Task.IsCompletedSuccessfully && r.Value.Task.Result is not null)
            .Select(r => r.Key)
            .ToList();

    /// <summary>Entries in the model cache (served models and remembered unknown names); bounded, see <see
    /// cref="ServingOptions.UnknownModelCacheSize"/>.</summary>
    public int CachedModelCount => _routers.Count + Volatile.Read(ref _unknownCount);

    internal async ValueTask<ModelRouter?> GetRouterAsync(string model, CancellationToken ct)
    {
        if (IsRememberedUnknown(model))
            return null;
        while (true)
        {
            var entry = _routers.GetOrAdd(
                model,
                static (m, self) => new RouterEntry(self.CreateRouterAsync(m), DateTime.UtcNow),
                this
            );
            var task = entry.Task;
            if (task.IsCompletedSuccessfully)
            {
                if (task.Result is not null)
                    return task.Result;
            }
            else if (!task.IsCompleted)
            {
                try
                {
                    await task.WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    throw;
                }
                catch
                { /* fall through: failed creation is retried by the next request */
                }
                if (task.IsCompletedSuccessfully && task.Result is not null)
                    return task.Result;
            }
            // Unknown or failed: the router cache keeps only real models; an unknown name moves to the capped negative
            // cache.
            _routers.TryRemove(KeyValuePair.Create(model, entry));
            if (task.IsFaulted)
                throw task.Exception!.GetBaseException();
            if (task.IsCompletedSuccessfully)
            {
                RememberUnknown(model, entry.CreatedUtc);
                return null;
            }
        }
    }

    // Unknown model names come from callers, so they live apart from the routers in a cache with a hard cap: a flood of
    // random names costs storage lookups past the cap, never memory.
    private readonly ConcurrentDictionary<string, DateTime> _unknown = new(StringComparer.Ordinal);
    private int _unknownCount;

    private bool IsRememberedUnknown(string model)
    {
        if (!_unknown.TryGetValue(model, out var since))
            return false;
        if (DateTime.UtcNow - since < _options.UnknownModelCacheTime)
            return true;
        if (_unknown.TryRemove(KeyValuePair.Create(model, since)))
            Interlocked.Decrement(ref _unknownCount);
        return false;
    }

    private void RememberUnknown(string model, DateTime since)
    {
        if (_options.UnknownModelCacheTime <= TimeSpan.Zero || _options.UnknownModelCacheSize == 0)
            return;
        if (Volatile.Read(ref _unknownCount) >= _options.UnknownModelCacheSize)
        {
            var now = DateTime.UtcNow;
            foreach (var (name, at) in _unknown)
                if (now - at >= _options.UnknownModelCacheTime && _unknown.TryRemove(KeyValuePair.Create(name, at)))
                    Interlocked.Decrement(ref _unknownCount);
            if (Volatile.Read(ref _unknownCount) >= _options.UnknownModelCacheSize)
                return;
        }
        if (_unknown.TryAdd(model, since))
            Interlocked.Increment(ref _unknownCount);
    }

    private void ForgetUnknown(string model)
    {
        if (_unknown.TryRemove(model, out _))
            Interlocked.Decrement(ref _unknownCount);
    }

    private async Task<ModelRouter?> CreateRouterAsync(string model)
    {
        var state = await _registry.TryGetStateAsync(model).ConfigureAwait(false);
        if (state is null)
            return null;
        var router = new ModelRouter(model);
        router.Publish(await BuildSnapshotAsync(router, state, CancellationToken.None).ConfigureAwait(false));
        return router;
    }

    /// <summary>Re-reads the serving state of every served model and swaps snapshots whose ETag changed.</summary>
    public async Task RefreshAllAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (model, entry) in _routers)
        {
            if (!entry.Task.IsCompletedSuccessfully || entry.Task.Result is not { } router)
                continue;
            try
            {
                await RefreshAsync(router, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Storage hiccup or a version that fails to load: keep serving the last good snapshot and retry next
                // poll.
                Metrics.RefreshFailures.Increment();
                _logger.LogWarning(e, "Serving refresh of model {Model} failed; keeping the current routing.", model);
            }
        }
    }

    /// <summary>Refreshes one model now (used after a change made through this host, so it applies without waiting a
    /// poll).</summary>
    public async Task RefreshAsync(string model, CancellationToken cancellationToken = default)
    {
        if (
            _routers.TryGetValue(model, out var entry)
            && entry.Task.IsCompletedSuccessfully
            && entry.Task.Result is { } router
        )
            await RefreshAsync(router, cancellationToken).ConfigureAwait(false);
        else
        {
            _routers.TryRemove(model, out _);
            ForgetUnknown(model); // a cached "unknown" must not outlive a registration made through this host
        }
    }

    private async Task RefreshAsync(ModelRouter router, CancellationToken ct)
    {
        await router.RefreshLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var state = await _registry.TryGetStateAsync(router.Model, ct).ConfigureAwait(false);
            if (state is null || state.ETag == router.Snapshot?.State.ETag)
                return;
            var snapshot = await BuildSnapshotAsync(router, state, ct).ConfigureAwait(false);
            router.Publish(snapshot);
            _logger.LogInformation(
                "Model {Model}: serving revision {Revision}, routes {Routes}, shadow {Shadow}.",
                router.Model,
                state.Revision,
                string.Join(",", snapshot.RouteVersions.Zip(snapshot.Cumulative, (v, c) => $"v{v}<{c}")),
                string.Join(",", snapshot.Shadows.Select(s => s.Version))
            );
        }
        finally
        {
            router.RefreshLock.Release();
        }
    }

    private async Task<RoutingSnapshot> BuildSnapshotAsync(ModelRouter router, ServingState state, CancellationToken ct)
    {
        var routes = state.EffectiveRoutes.Where(r => r.Weight > 0).ToList();
        var needed = routes
            .Select(r => r.Version)
            .Concat(state.Traffic?.Shadow ?? [])
            .Concat(state.Aliases.Values)
            .Distinct();
        var loaded = new Dictionary<int, LoadedVersion>();
        foreach (int v in needed)
        {
            LoadedVersion? lv;
            try
            {
                lv = await GetVersionAsync(router, v, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!routes.Any(r => r.Version == v) && e is not OperationCanceledException)
            {
                // An alias or shadow that cannot load must not stop the routed versions from serving.
                _logger.LogWarning(
                    e,
                    "Model {Model} v{Version} could not be loaded; it is skipped in this snapshot.",
                    router.Model,
                    v
                );
                continue;
            }
            if (lv is not null)
                loaded[v] = lv;
        }
        double slowMs = state.Traffic?.AutoRollback?.MaxP99LatencyMs ?? double.PositiveInfinity;
        foreach (var lv in loaded.Values)
            lv.Stats.SlowThresholdMs = slowMs;
        var cumulative = new int[routes.Count];
        int sum = 0;
        for (int i = 0; i < routes.Count; i++)
            cumulative[i] = sum += routes[i].Weight;
        return new RoutingSnapshot
        {
            State = state,
            RouteVersions = routes.Select(r => r.Version).ToArray(),
            Cumulative = cumulative,
            RouteModels = routes
                .Select(r =>
                    loaded.TryGetValue(r.Version, out var m)
                        ? m
                        : throw new ServingException(
                            "serving.version_unavailable",
                            $"{router.Model} v{r.Version} is routed but not registered.",
                            503
                        )
                )
                .ToArray(),
            Shadows = (state.Traffic?.Shadow ?? []).Where(loaded.ContainsKey).Select(v => loaded[v]).ToArray(),
            Loaded = loaded,
        };
    }

    /// <summary>Loads (once) and returns a version; null when it does not exist or is archived.</summary>
    internal async Task<LoadedVersion?> GetVersionAsync(ModelRouter router, int version, CancellationToken ct)
    {
        var lazy = router.Versions.GetOrAdd(version, v => new Lazy<Task<LoadedVersion?>>(() =>
            LoadAsync(router.Model, v)
        ));
        try
        {
            var result = await lazy.Value.WaitAsync(ct).ConfigureAwait(false);
            if (result is null)
                router.Versions.TryRemove(KeyValuePair.Create(version, lazy)); // may be registered later
            return result;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            router.Versions.TryRemove(KeyValuePair.Create(version, lazy)); // transient failure: retry on next use
            throw;
        }
    }

    private async Task<LoadedVersion?> LoadAsync(string model, int version)
    {
        var info = await _registry.FindVersionAsync(model, version).ConfigureAwait(false);
        if (info is null || info.Status == VersionStatus.Archived)
            return null;
        byte[] file = await _registry.ReadModelFileAsync(model, version).ConfigureAwait(false);
        var servable = _loader.Load(info, file);
        _logger.LogInformation(
            "Loaded model {Model} v{Version} ({Bytes} bytes, {Columns} inputs).",
            model,
            version,
            file.Length,
            servable.Signature.Columns.Count
        );
        return new LoadedVersion(model, version, servable);
    }

    /// <summary>Stable 0..99 bucket for a sticky request key (same key → same bucket in every process).</summary>
    internal static int Bucket(string key)
    {
        // FNV-1a over the UTF-16 code units, then a final avalanche: stable across processes and .NET versions
        // (string.GetHashCode is randomized per process, which would break stickiness between hosts).
        ulong h = 14695981039346656037UL;
        foreach (char c in key)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return (int)(h % 100);
    }

    internal ModelRegistry Registry => _registry;

    /// <summary>
    /// Each routed and shadow version of <paramref name="model"/> as this process served it over the last
    /// <paramref name="seconds"/>: weight, request rate, error rate, mean latency. Empty when this process has not
    /// loaded the model (every host counts only its own requests).
    /// </summary>
    public IReadOnlyList<VersionTraffic> LiveTraffic(string model, int seconds)
    {
        if (
            !_routers.TryGetValue(model, out var entry)
            || !entry.Task.IsCompletedSuccessfully
            || entry.Task.Result?.Snapshot is not { } snapshot
        )
            return [];
        var rows = new List<VersionTraffic>();
        for (int i = 0; i < snapshot.RouteModels.Length; i++)
            rows.Add(
                VersionTraffic.Of(
                    snapshot.RouteModels[i],
                    snapshot.Cumulative[i] - (i > 0 ? snapshot.Cumulative[i - 1] : 0),
                    shadow: false,
                    seconds
                )
            );
        rows.AddRange(snapshot.Shadows.Select(v => VersionTraffic.Of(v, 0, shadow: true, seconds)));
        return rows;
    }
}

/// <summary>Process-wide serving counters (cheap striped increments).</summary>
public sealed class ServingMetrics
{
    /// <summary>A counter safe to increment from many threads.</summary>
    public sealed class Counter
    {
        private long _value;

        /// <summary>Adds one.</summary>
        public void Increment() => Interlocked.Increment(ref _value);

        /// <summary>Adds <paramref name="n"/>.</summary>
        public void Add(long n) => Interlocked.Add(ref _value, n);

        /// <summary>Current value.</summary>
        public long Value => Interlocked.Read(ref _value);
    }

    /// <summary>Predict requests received.</summary>
    public Counter Requests { get; } = new();

    /// <summary>Answered 2xx.</summary>
    public Counter Succeeded { get; } = new();

    /// <summary>Answered 4xx (bad input, unknown model, too large).</summary>
    public Counter BadRequests { get; } = new();

    /// <summary>Answered 5xx (model failure, storage unavailable).</summary>
    public Counter ServerErrors { get; } = new();

    /// <summary>Shadow predictions made.</summary>
    public Counter ShadowPredictions { get; } = new();

    /// <summary>Shadow predictions that failed (invalid for the shadow's schema or threw).</summary>
    public Counter ShadowFailures { get; } = new();

    /// <summary>Prediction-log entries dropped because the buffer was full.</summary>
    public Counter LogDropped { get; } = new();

    /// <summary>Log lines written.</summary>
    public Counter LogWritten { get; } = new();

    /// <summary>Log appends that failed (lines lost).</summary>
    public Counter LogWriteFailures { get; } = new();

    /// <summary>Failed serving-state refreshes.</summary>
    public Counter RefreshFailures { get; } = new();

    /// <summary>Automatic canary rollbacks made by this host.</summary>
    public Counter AutoRollbacks { get; } = new();

    /// <summary>A snapshot for the stats endpoint.</summary>
    public Dictionary<string, long> ToDictionary() =>
        new()
        {
            ["requests"] = Requests.Value,
            ["succeeded"] = Succeeded.Value,
            ["badRequests"] = BadRequests.Value,
            ["serverErrors"] = ServerErrors.Value,
            ["shadowPredictions"] = ShadowPredictions.Value,
            ["shadowFailures"] = ShadowFailures.Value,
            ["logWritten"] = LogWritten.Value,
            ["logDropped"] = LogDropped.Value,
            ["logWriteFailures"] = LogWriteFailures.Value,
            ["refreshFailures"] = RefreshFailures.Value,
            ["autoRollbacks"] = AutoRollbacks.Value,
        };
}
