using System.Text;
using Mlops.Core;
using Mlops.Registry.Gate;
using Mlops.Storage.Azure;
using Mlops.Testing;
using Xunit;

namespace Mlops.Registry.Tests;

/// <summary>Registry behaviour on real Azurite (one instance per class; each test uses its own model name).</summary>
public sealed class ModelRegistryTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    /// <summary>A fresh registry with its own storage clients, as a separate process would have.</summary>
    private ModelRegistry NewRegistry(IClock? clock = null)
    {
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        return new ModelRegistry(storage.Blobs, storage.Tables, clock: clock);
    }

    private static RegisterModelRequest Request(string model, double auc = 0.9, string? run = null) =>
        new(
            model,
            Encoding.UTF8.GetBytes($"{{\"fake\":{auc}}}"),
            new ModelMetrics(new Dictionary<string, double> { ["auc"] = auc, ["logloss"] = 1 - auc }),
            new ModelLineage
            {
                DataHash = "sha256:abc",
                Params = new() { ["lr"] = "0.1" },
                CodeVersion = "deadbeef",
            },
            IdempotencyKey: run
        );

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task RegisterAsync_ConcurrentFromSeparateClients_DistinctGaplessVersions()
    {
        string model = Unique("conc");
        var tasks = Enumerable
            .Range(0, 10)
            .Select(i => Task.Run(() => NewRegistry().RegisterAsync(Request(model, 0.8 + i / 100.0, $"run-{i}"))));
        var versions = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(1, 10), versions.Select(v => v.Version).Order());
        var listed = await NewRegistry().ListVersionsAsync(model);
        Assert.Equal(Enumerable.Range(1, 10), listed.Select(v => v.Version));
        foreach (var v in versions)
        {
            var lineage = await NewRegistry().ReadLineageAsync(model, v.Version);
            Assert.Equal(v.RunId, lineage!.RunId);
            Assert.Equal("sha256:abc", lineage.DataHash);
        }
    }

    [Fact]
    public async Task RegisterAsync_SameRunTwice_ReturnsExistingVersion()
    {
        string model = Unique("idem");
        var registry = NewRegistry();
        var first = await registry.RegisterAsync(Request(model, run: "run-A"));
        var again = await registry.RegisterAsync(Request(model, run: "run-A"));
        var concurrent = await Task.WhenAll(
            Enumerable
                .Range(0, 4)
                .Select(_ => Task.Run(() => NewRegistry().RegisterAsync(Request(model, run: "run-B"))))
        );
        var other = await registry.RegisterAsync(Request(model, run: "run-C"));

        Assert.Equal(first.Version, again.Version);
        Assert.Single(concurrent.Select(v => v.Version).Distinct());
        var listed = await registry.ListVersionsAsync(model);
        Assert.Equal(3, listed.Count);
        Assert.Contains(listed, v => v.Version == other.Version && v.RunId == "run-C");
        Assert.Equal(
            "{\"fake\":0.9}",
            Encoding.UTF8.GetString(await registry.ReadModelFileAsync(model, first.Version))
        );
    }

    [Fact]
    public async Task PromoteAsync_TwoConcurrent_OneWinsAndHistoryAgrees()
    {
        string model = Unique("race");
        var registry = NewRegistry();
        for (int i = 0; i < 3; i++)
            await registry.RegisterAsync(Request(model, run: $"r{i}"));
        await registry.PromoteAsync(model, 1, new("initial", "test"));

        for (int round = 0; round < 3; round++)
        {
            var a = NewRegistry();
            var b = NewRegistry();
            int target1 = round % 2 == 0 ? 2 : 3,
                target2 = round % 2 == 0 ? 3 : 2;
            var results = await Task.WhenAll(Attempt(a, target1), Attempt(b, target2));
            var winners = results.Where(r => r.entry is not null).ToList();
            // Both read the same state; at most one replace with that ETag can succeed. (One may also read after the
            // other committed.)
            Assert.NotEmpty(winners);
            foreach (var loser in results.Where(r => r.entry is null))
                Assert.Equal(409, loser.error!.Status);

            var state = await registry.GetStateAsync(model);
            var history = await registry.GetHistoryAsync(model);
            Assert.Equal(state.Revision, history[^1].Revision);
            Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(h => h.Revision));
            Assert.Equal(state.Production, history[^1].Aliases[ModelRegistry.ProductionAlias]);
            // Each promotion's "from" is the previous entry's production: the chain has no holes.
            for (int i = 1; i < history.Count; i++)
                Assert.Equal(
                    history[i - 1].Aliases.GetValueOrDefault(ModelRegistry.ProductionAlias),
                    history[i].FromVersion
                );
        }

        async Task<(HistoryEntry? entry, RegistryException? error)> Attempt(ModelRegistry r, int version)
        {
            try
            {
                return (await r.PromoteAsync(model, version, new($"promote {version}", "racer")), null);
            }
            catch (RegistryException e)
            {
                return (null, e);
            }
        }
    }

    [Fact]
    public async Task PromoteAsync_SameStateRead_ExactlyOneWins()
    {
        // Deterministic version of the race: both writers hold the same ETag, as two processes that read concurrently.
        string model = Unique("etag");
        var registry = NewRegistry();
        await registry.RegisterAsync(Request(model, run: "1"));
        await registry.RegisterAsync(Request(model, run: "2"));
        await registry.PromoteAsync(model, 1);
        var clock = new BarrierClock(2);
        var r1 = NewRegistry(clock);
        var r2 = NewRegistry(clock);
        var t1 = Task.Run(() => r1.SetAliasAsync(model, "candidate", 2, new("a", "A")));
        var t2 = Task.Run(() => r2.SetAliasAsync(model, "candidate", 1, new("b", "B")));
        var outcomes = await Task.WhenAll(Wrap(t1), Wrap(t2));

        Assert.Equal(1, outcomes.Count(o => o is null));
        Assert.Equal(409, outcomes.Single(o => o is not null)!.Status);
        var history = await registry.GetHistoryAsync(model);
        Assert.Equal(2, history.Count);
        Assert.Equal((await registry.GetStateAsync(model)).Aliases["candidate"], history[^1].Aliases["candidate"]);

        static async Task<RegistryException?> Wrap(Task t)
        {
            try
            {
                await t;
                return null;
            }
            catch (RegistryException e)
            {
                return e;
            }
        }
    }

    [Fact]
    public async Task RollbackAsync_ReturnsToPreviousProduction_AndWalksBack()
    {
        string model = Unique("rb");
        var registry = NewRegistry();
        for (int i = 0; i < 3; i++)
            await registry.RegisterAsync(Request(model, run: $"r{i}"));
        await Assert.ThrowsAsync<RegistryException>(() => registry.RollbackAsync(model));
        await registry.PromoteAsync(model, 1);
        await registry.PromoteAsync(model, 2);
        await registry.SetTrafficAsync(model, new TrafficConfig { Routes = [new(2, 90), new(3, 10)] });
        await registry.PromoteAsync(model, 3);

        var back = await registry.RollbackAsync(model, new("bad canary", "oncall"));
        Assert.Equal(ChangeKind.Rollback, back.Kind);
        Assert.Equal(3, back.FromVersion);
        Assert.Equal(2, back.ToVersion);
        var state = await registry.GetStateAsync(model);
        Assert.Equal(2, state.Production);
        Assert.Null(state.Traffic);
        Assert.Equal(1, (await registry.RollbackAsync(model)).ToVersion);
        var none = await Assert.ThrowsAsync<RegistryException>(() => registry.RollbackAsync(model));
        Assert.Equal(409, none.Status);
        var last = (await registry.GetHistoryAsync(model))[^1];
        Assert.Equal("oncall", (await registry.GetHistoryAsync(model)).Single(h => h.Reason == "bad canary").Actor);
        Assert.Equal(1, last.Aliases[ModelRegistry.ProductionAlias]);
    }

    [Fact]
    public async Task GetStateAtAsync_ReturnsWhatServedAtTimeT()
    {
        string model = Unique("time");
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var registry = NewRegistry(clock);
        for (int i = 0; i < 3; i++)
            await registry.RegisterAsync(Request(model, run: $"r{i}"));
        clock.Now = clock.Now.AddHours(1);
        await registry.PromoteAsync(model, 1); // 01:00 → v1
        clock.Now = clock.Now.AddHours(1);
        await registry.PromoteAsync(model, 2); // 02:00 → v2
        clock.Now = clock.Now.AddHours(1);
        await registry.RollbackAsync(model); // 03:00 → v1
        clock.Now = clock.Now.AddHours(1);
        await registry.PromoteAsync(model, 3); // 04:00 → v3

        var t0 = new DateTimeOffset(2026, 1, 1, 0, 30, 0, TimeSpan.Zero);
        async Task<int?> ProductionAt(DateTimeOffset at) =>
            (await registry.GetStateAtAsync(model, at)).Aliases.TryGetValue("production", out var v) ? v : null;
        Assert.Null(await ProductionAt(t0));
        Assert.Equal(1, await ProductionAt(t0.AddHours(1)));
        Assert.Equal(2, await ProductionAt(t0.AddHours(2)));
        Assert.Equal(1, await ProductionAt(t0.AddHours(3)));
        Assert.Equal(3, await ProductionAt(t0.AddHours(10)));
        Assert.Equal(2, (await registry.GetHistoryAsync(model, until: t0.AddHours(1.6))).Count);
    }

    [Fact]
    public async Task CompareAsync_ShowsMetricsSideBySideWithDirection()
    {
        string model = Unique("cmp");
        var registry = NewRegistry();
        await registry.RegisterAsync(Request(model, 0.90, "a"));
        await registry.RegisterAsync(Request(model, 0.93, "b"));

        var cmp = await registry.CompareAsync(model, 1, 2);

        var auc = cmp.Metrics.Single(m => m.Metric == "auc");
        Assert.Equal(0.03, auc.Delta!.Value, 9);
        Assert.Equal("b", auc.Better);
        Assert.Equal("b", cmp.Metrics.Single(m => m.Metric == "logloss").Better); // lower logloss wins
        await Assert.ThrowsAsync<RegistryException>(() => registry.CompareAsync(model, 1, 9));
    }

    [Fact]
    public async Task SetTrafficAsync_InvalidWeightsOrVersions_Rejected()
    {
        string model = Unique("tr");
        var registry = NewRegistry();
        await registry.RegisterAsync(Request(model, run: "1"));
        await registry.RegisterAsync(Request(model, run: "2"));

        var bad = await Assert.ThrowsAsync<RegistryException>(() =>
            registry.SetTrafficAsync(model, new TrafficConfig { Routes = [new(1, 80), new(2, 30)], Shadow = [7] })
        );
        Assert.Equal(400, bad.Status);
        Assert.Contains("sum to 110", bad.Message);
        Assert.Contains("version 7 does not exist", bad.Message);
        var ok = await registry.SetTrafficAsync(
            model,
            new TrafficConfig { Routes = [new(1, 80), new(2, 20)] },
            new("ab test", "alice")
        );
        Assert.Equal(ChangeKind.Traffic, ok.Kind);
        Assert.Equal(2, (await registry.GetStateAsync(model)).EffectiveRoutes.Count);
    }

    [Fact]
    public async Task PromoteAndArchive_GateFailedAndInUse_Refused()
    {
        string model = Unique("gate");
        var registry = NewRegistry();
        var v1 = await registry.RegisterAsync(Request(model, 0.9, "1"));
        var v2 = await registry.RegisterAsync(Request(model, 0.8, "2"));
        await registry.PromoteAsync(model, 1);
        var decision = PromotionGate.Decide(v2.Metrics, v1.Metrics);
        await registry.RecordGateDecisionAsync(model, 2, decision);

        var refused = await Assert.ThrowsAsync<RegistryException>(() => registry.PromoteAsync(model, 2));
        Assert.Equal("registry.gate_failed", refused.Code);
        Assert.Equal(1, (await registry.GetStateAsync(model)).Production);
        Assert.False((await registry.GetVersionAsync(model, 2)).Gate!.Passed);

        var inUse = await Assert.ThrowsAsync<RegistryException>(() => registry.ArchiveAsync(model, 1));
        Assert.Equal(409, inUse.Status);
        var archived = await registry.ArchiveAsync(model, 2, new("worse", "pipeline"));
        Assert.Equal(VersionStatus.Archived, archived.Status);
        await Assert.ThrowsAsync<RegistryException>(() => registry.SetAliasAsync(model, "candidate", 2));

        var approved = await registry.SetApprovalAsync(model, 1, ApprovalState.Approved, new("looks good", "bob"));
        Assert.Equal(ApprovalState.Approved, approved.Approval);
        Assert.Contains("bob", approved.ApprovalNote);
    }

    [Fact]
    public async Task ListModelsAndDetails_ShowAliasesPerVersion()
    {
        string model = Unique("list");
        var registry = NewRegistry();
        await registry.RegisterAsync(Request(model, run: "1"));
        await registry.RegisterAsync(Request(model, run: "2"));
        await registry.PromoteAsync(model, 2);
        await registry.SetAliasAsync(model, "candidate", 1);

        var details = await registry.GetModelAsync(model);
        Assert.Equal(["production"], details.Versions.Single(v => v.Version == 2).Aliases);
        Assert.Equal(["candidate"], details.Versions.Single(v => v.Version == 1).Aliases);
        var summary = (await registry.ListModelsAsync()).Single(m => m.Model == model);
        Assert.Equal(2, summary.LatestVersion);
        Assert.Equal(2, summary.Production);
        var unknown = await Assert.ThrowsAsync<RegistryException>(() =>
            registry.GetModelAsync("nope-" + Guid.NewGuid().ToString("N")[..8])
        );
        Assert.Equal(404, unknown.Status);
    }

    [Fact]
    public async Task RegisterAsync_CrashAfterClaimBeforeIndex_RetryCompletesSameVersion()
    {
        string model = Unique("crash");
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        var flaky = new FailOnceTableStore(storage.Tables, row => row.RowKey.StartsWith('v'));
        var registry = new ModelRegistry(storage.Blobs, flaky);

        await Assert.ThrowsAsync<IOException>(() => registry.RegisterAsync(Request(model, run: "run-X")));
        var retried = await registry.RegisterAsync(Request(model, run: "run-X"));
        var next = await registry.RegisterAsync(Request(model, run: "run-Y"));

        Assert.Equal(1, retried.Version);
        Assert.Equal(2, next.Version);
        Assert.Equal([1, 2], (await registry.ListVersionsAsync(model)).Select(v => v.Version));
    }

    [Fact]
    public void Options_Invalid_Throw()
    {
        Assert.Throws<ArgumentException>(() => new RegistryOptions { Container = "Bad_Name" }.Validate());
        Assert.Throws<ArgumentException>(() => new RegistryOptions { Table = "1x" }.Validate());
        Assert.Equal(
            Mlops.Core.Naming.DatasetName.InvalidCode,
            Assert.Throws<Mlops.Core.Errors.MlopsException>(() => RegistryNames.CheckModel("a/b")).Code
        );
        Assert.Throws<Mlops.Core.Errors.MlopsException>(() => RegistryNames.CheckModel("Bc.v2")); // one dataset-name rule for models too
    }

    /// <summary>Simulates a process dying at one write: the first matching insert throws, later ones pass.</summary>
    private sealed class FailOnceTableStore(
        Mlops.Core.Storage.ITableStore inner,
        Func<Mlops.Core.Storage.TableRow, bool> match
    ) : Mlops.Core.Storage.ITableStore
    {
        private int _failed;

        public Task<Mlops.Core.Storage.TableRow?> GetAsync(
            string t,
            string p,
            string r,
            CancellationToken ct = default
        ) => inner.GetAsync(t, p, r, ct);

        public Task<IReadOnlyList<Mlops.Core.Storage.TableRow>> QueryAsync(
            string t,
            string p,
            string? f = null,
            string? to = null,
            CancellationToken ct = default
        ) => inner.QueryAsync(t, p, f, to, ct);

        public Task<IReadOnlyList<Mlops.Core.Storage.TableRow>> QueryAllAsync(
            string t,
            CancellationToken ct = default
        ) => inner.QueryAllAsync(t, ct);

        public Task<IReadOnlyList<string?>> ExecuteBatchAsync(
            string t,
            Mlops.Core.Storage.TableBatch b,
            CancellationToken ct = default
        ) => inner.ExecuteBatchAsync(t, b, ct);

        public Task<string?> ExecuteAsync(
            string t,
            Mlops.Core.Storage.TableOperation op,
            CancellationToken ct = default
        )
        {
            if (
                op.Kind == Mlops.Core.Storage.TableOperationKind.Insert
                && match(op.Row)
                && Interlocked.Exchange(ref _failed, 1) == 0
            )
                throw new IOException("simulated crash");
            return inner.ExecuteAsync(t, op, ct);
        }
    }

    private sealed class ManualClock(DateTimeOffset now) : IClock
    {
        public DateTimeOffset Now { get; set; } = now;
        public DateTimeOffset UtcNow => Now;
    }

    /// <summary>A clock whose reads wait until <c>parties</c> callers arrive: both writers have read the state row
    /// (the read happens before the clock is consulted for the commit) when either proceeds to write.</summary>
    private sealed class BarrierClock(int parties) : IClock
    {
        private readonly Barrier _barrier = new(parties);
        private int _calls;
        public DateTimeOffset UtcNow
        {
            get
            {
                if (Interlocked.Increment(ref _calls) <= parties)
                    _barrier.SignalAndWait(TimeSpan.FromSeconds(10));
                return DateTimeOffset.UtcNow;
            }
        }
    }
}
