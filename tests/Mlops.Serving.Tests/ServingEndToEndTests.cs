using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Registry;
using Mlops.Storage.Azure;
using Mlops.Testing;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary>Shared Azurite plus one serving host for the class (each test uses its own model).</summary>
public sealed class ServingFixture : IAsyncLifetime
{
    public AzuriteInstance Azurite { get; private set; } = null!;
    internal ServingHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        Host = await ServingHost.StartAsync(Azurite.ConnectionString, o => o.MaxBodyBytes = 128 * 1024);
    }

    /// <summary>A registry with its own storage clients, as another process would have.</summary>
    internal ModelRegistry NewRegistry()
    {
        var s = AzureStorageAccount.Connect(Azurite.ConnectionString);
        return new ModelRegistry(s.Blobs, s.Tables);
    }

    /// <summary>Registers constant test models v1..vN (v k predicts k) under a fresh name and promotes v1.</summary>
    internal async Task<string> ConstantModelAsync(string prefix, int versions)
    {
        string model = $"{prefix}-{Guid.NewGuid():N}"[..18];
        var registry = NewRegistry();
        for (int v = 1; v <= versions; v++)
            await registry.RegisterAsync(
                new RegisterModelRequest(model, TestModelLoader.File(v), IdempotencyKey: $"run-{v}")
            );
        await registry.PromoteAsync(model, 1);
        return model;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

public sealed class ServingEndToEndTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private ServingHost Host => fixture.Host;

    /// <summary>A registry with its own storage clients: changes made through it come from "another process".</summary>
    private ModelRegistry OtherProcess()
    {
        var s = AzureStorageAccount.Connect(fixture.Azurite.ConnectionString);
        return new ModelRegistry(s.Blobs, s.Tables);
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..18];

    private static object Rows(int n) =>
        new
        {
            rows = Enumerable
                .Range(0, n)
                .Select(i => new Dictionary<string, object> { ["x"] = i, ["color"] = "red" })
                .ToArray(),
        };

    /// <summary>Registers constant models v1..vN (v k predicts k) and promotes v1.</summary>
    private async Task<string> SetUpModelAsync(int versions, Func<int, byte[]>? file = null)
    {
        string model = Unique("m");
        var registry = OtherProcess();
        for (int v = 1; v <= versions; v++)
            await registry.RegisterAsync(
                new RegisterModelRequest(model, file?.Invoke(v) ?? TestModelLoader.File(v), IdempotencyKey: $"run-{v}")
            );
        await registry.PromoteAsync(model, 1);
        return model;
    }

    private static double[] Values(JsonElement body) =>
        body.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("value").GetDouble()).ToArray();

    [Fact]
    public async Task Predict_TrafficSplit8020_CountsWithinTolerance()
    {
        string model = await SetUpModelAsync(2);
        await OtherProcess().SetTrafficAsync(model, new TrafficConfig { Routes = [new(1, 80), new(2, 20)] });
        await Host.Runtime.RefreshAsync(model);

        var counts = new ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, 1000),
            new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (_, _) =>
            {
                var (status, body) = await Host.PredictAsync(model, Rows(1));
                Assert.Equal(200, status);
                int version = body.GetProperty("version").GetInt32();
                Assert.Equal(version, Values(body)[0]); // the named version is the one that answered
                counts.AddOrUpdate(version, 1, (_, c) => c + 1);
            }
        );

        // Binomial(1000, 0.2): sd ≈ 12.6; ±4 sd keeps the test deterministic in practice.
        Assert.InRange(counts.GetValueOrDefault(2), 150, 250);
        Assert.Equal(1000, counts.Values.Sum());
    }

    [Fact]
    public async Task Predict_StickyKey_SameVersionForSameKey()
    {
        string model = await SetUpModelAsync(2);
        await OtherProcess().SetTrafficAsync(model, new TrafficConfig { Routes = [new(1, 50), new(2, 50)] });
        await Host.Runtime.RefreshAsync(model);

        var seen = new Dictionary<string, int>();
        for (int k = 0; k < 60; k++)
        {
            string key = $"user-{k}";
            for (int rep = 0; rep < 3; rep++)
            {
                // Alternate header and body field: both carry the same key.
                var (status, body) =
                    rep % 2 == 0
                        ? await Host.PredictAsync(model, Rows(1), key: key)
                        : await Host.PredictAsync(
                            model,
                            new { rows = new[] { new { x = 1, color = "b" } }, requestKey = key }
                        );
                Assert.Equal(200, status);
                int v = body.GetProperty("version").GetInt32();
                if (seen.TryGetValue(key, out int first))
                    Assert.Equal(first, v);
                else
                    seen[key] = v;
            }
        }
        Assert.Contains(1, seen.Values);
        Assert.Contains(2, seen.Values);
    }

    [Fact]
    public async Task Predict_ShadowVersion_LoggedNotReturned()
    {
        string model = await SetUpModelAsync(3);
        await OtherProcess().SetTrafficAsync(model, new TrafficConfig { Routes = [new(1, 100)], Shadow = [3] });
        await Host.Runtime.RefreshAsync(model);

        for (int i = 0; i < 5; i++)
        {
            var (status, body) = await Host.PredictAsync(model, Rows(2), key: $"k{i}");
            Assert.Equal(200, status);
            Assert.Equal(1, body.GetProperty("version").GetInt32());
            Assert.All(Values(body), v => Assert.Equal(1, v));
        }
        await Host.Log.FlushAsync();

        var lines = new List<JsonElement>();
        await foreach (var blob in Host.Storage.Blobs.ListAsync("predictions", model + "/"))
        {
            var content = await Host.Storage.Blobs.ReadAsync("predictions", blob.Name);
            lines.AddRange(
                Encoding
                    .UTF8.GetString(content!.Data)
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            );
        }
        var primary = lines.Where(l => !l.GetProperty("shadow").GetBoolean()).ToList();
        var shadow = lines.Where(l => l.GetProperty("shadow").GetBoolean()).ToList();
        Assert.Equal(5, primary.Count);
        Assert.Equal(5, shadow.Count);
        Assert.All(primary, l => Assert.Equal(1, l.GetProperty("version").GetInt32()));
        Assert.All(shadow, l =>
        {
            Assert.Equal(3, l.GetProperty("version").GetInt32());
            Assert.Equal(3, l.GetProperty("outputs")[0].GetProperty("value").GetDouble());
            Assert.Equal(2, l.GetProperty("inputs").GetArrayLength());
            Assert.StartsWith("k", l.GetProperty("requestKey").GetString());
        });
    }

    [Fact]
    public async Task Rollback_UnderConcurrentLoadOnTwoHosts_NoFailedOrMixedResponses()
    {
        string model = await SetUpModelAsync(2);
        var other = OtherProcess();
        await other.PromoteAsync(model, 2);
        await using var second = await ServingHost.StartAsync(fixture.Azurite.ConnectionString);
        var hosts = new[] { Host, second };

        var results = new ConcurrentQueue<(long At, int Status, int Version, bool Mixed)>();
        var clock = Stopwatch.StartNew();
        long rolledBackAt = long.MaxValue;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable
            .Range(0, 8)
            .Select(w =>
                Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var (status, body) = await hosts[w % 2].PredictAsync(model, Rows(5));
                        int version = status == 200 ? body.GetProperty("version").GetInt32() : -1;
                        bool mixed = status == 200 && Values(body).Any(v => v != version);
                        results.Enqueue((clock.ElapsedMilliseconds, status, version, mixed));
                    }
                })
            )
            .ToList();

        await Task.Delay(1500);
        var entry = await other.RollbackAsync(model, new("canary regression", "test"));
        Interlocked.Exchange(ref rolledBackAt, clock.ElapsedMilliseconds);
        Assert.Equal(1, entry.ToVersion);
        await Task.Delay(4000);
        stop.Cancel();
        await Task.WhenAll(workers);

        var all = results.ToList();
        Assert.True(all.Count > 200, $"only {all.Count} requests");
        Assert.All(all, r => Assert.Equal(200, r.Status));
        Assert.DoesNotContain(all, r => r.Mixed);
        Assert.Contains(all, r => r.Version == 2 && r.At < rolledBackAt);
        // Every host polls every 250 ms: allow 3 s for the swap, after which only v1 answers.
        var late = all.Where(r => r.At > rolledBackAt + 3000).ToList();
        Assert.NotEmpty(late);
        Assert.All(late, r => Assert.Equal(1, r.Version));
    }

    [Fact]
    public async Task Predict_BadInput_Returns4xxNamingEachProblem()
    {
        string model = await SetUpModelAsync(1);
        long badBefore = Host.Runtime.Metrics.BadRequests.Value,
            serverErrorsBefore = Host.Runtime.Metrics.ServerErrors.Value;

        var (s1, b1) = await Host.PredictAsync(model, "{\"rows\": [ {\"x\": 1,");
        Assert.Equal(400, s1);
        Assert.Equal("serving.malformed_json", b1.GetProperty("error").GetProperty("code").GetString());

        var (s2, b2) = await Host.PredictAsync(
            model,
            new { rows = new object[] { new { x = "one", extra = 5 }, new { x = 1, color = "r" } } }
        );
        Assert.Equal(400, s2);
        var details = b2.GetProperty("error")
            .GetProperty("details")
            .EnumerateArray()
            .Select(d =>
                (
                    d.GetProperty("row").GetInt32(),
                    d.GetProperty("column").GetString(),
                    d.GetProperty("problem").GetString()
                )
            )
            .ToList();
        Assert.Contains((0, "x", "wrong_type"), details);
        Assert.Contains((0, "extra", "unexpected"), details);
        Assert.Contains((0, "color", "missing"), details);
        Assert.Equal(3, details.Count);

        var (s3, _) = await Host.PredictAsync(
            model,
            new { rows = new[] { new { x = new string('9', 140_000), color = "r" } } }
        );
        Assert.Equal(413, s3);
        var (s4, b4) = await Host.PredictAsync("no-such-model", Rows(1));
        Assert.Equal(404, s4);
        Assert.Equal("serving.unknown_model", b4.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(404, (await Host.PredictAsync(model, Rows(1), "?version=9")).Status);
        Assert.Equal(404, (await Host.PredictAsync(model, Rows(1), "?alias=nope")).Status);
        Assert.Equal(400, (await Host.PredictAsync(model, Rows(1), "?version=abc")).Status);
        Assert.Equal(400, (await Host.PredictAsync(model, new { rows = Array.Empty<object>() })).Status);
        Assert.Equal(400, (await Host.PredictAsync(model, new { data = 1 })).Status);
        Assert.Equal(400, (await Host.PredictAsync(model, "[1,2]")).Status);
        Assert.Equal(400, (await Host.PredictAsync(model, new { rows = new[] { 1, 2 } })).Status);
        Assert.Equal(404, (await Host.PredictAsync("bad name!", Rows(1))).Status);
        Assert.Equal(413, (await Host.PredictAsync(model, Rows(1001))).Status);
        Assert.Equal(13, Host.Runtime.Metrics.BadRequests.Value - badBefore);
        Assert.Equal(serverErrorsBefore, Host.Runtime.Metrics.ServerErrors.Value); // never a 500 on user input

        var (ok, body) = await Host.PredictAsync(model, Rows(1000 / 40));
        Assert.Equal(200, ok);
        Assert.Equal(25, Values(body).Length);
    }

    [Fact]
    public async Task Predict_VersionAndAliasQuery_AnswerWithThatVersion()
    {
        string model = await SetUpModelAsync(3);
        await OtherProcess().SetAliasAsync(model, "candidate", 3);
        await Host.Runtime.RefreshAsync(model);

        Assert.Equal(1, (await Host.PredictAsync(model, Rows(1))).Body.GetProperty("version").GetInt32());
        var (_, byVersion) = await Host.PredictAsync(model, Rows(2), "?version=2");
        Assert.Equal(2, byVersion.GetProperty("version").GetInt32());
        Assert.All(Values(byVersion), v => Assert.Equal(2, v));
        Assert.Equal(
            3,
            (await Host.PredictAsync(model, Rows(1), "?alias=candidate")).Body.GetProperty("version").GetInt32()
        );
    }

    [Fact]
    public async Task Canary_FailingVersion_AutomaticallyRolledBackAndRecorded()
    {
        string model = await SetUpModelAsync(2, v => TestModelLoader.File(v, fail: v == 2));
        await Host.Client.PutAsJsonAsync(
            $"/api/models/{model}/traffic",
            new
            {
                routes = new[] { new { version = 1, weight = 50 }, new { version = 2, weight = 50 } },
                autoRollback = new
                {
                    maxErrorRate = 0.2,
                    minRequests = 10,
                    windowSeconds = 60,
                },
                reason = "canary v2",
            }
        );

        int failures = 0;
        for (int i = 0; i < 40; i++)
        {
            var (status, _) = await Host.PredictAsync(model, Rows(1), key: $"user-{i}");
            if (status == 500)
                failures++;
        }
        Assert.True(failures > 0);
        await Host.App.Services.GetRequiredService<ServingBackgroundService>().CheckCanariesAsync();

        var state = await OtherProcess().GetStateAsync(model);
        Assert.Null(state.Traffic);
        var last = (await OtherProcess().GetHistoryAsync(model))[^1];
        Assert.Equal(ChangeKind.AutoRollback, last.Kind);
        Assert.Equal(2, last.FromVersion);
        Assert.Contains("error rate", last.Reason);
        // The host is told, so it can alert a person (the function app forwards this to its alert sink).
        var told = Assert.Single(Host.App.Services.GetRequiredService<RecordingServingEvents>().Rollbacks, r =>
            r.Model == model
        );
        Assert.Equal(2, told.Version);
        for (int i = 0; i < 20; i++)
            Assert.Equal(200, (await Host.PredictAsync(model, Rows(1), key: $"user-{i}")).Status);
    }

    [Fact]
    public async Task Canary_SlowVersion_RolledBackOnP99Latency()
    {
        string model = await SetUpModelAsync(2, v => TestModelLoader.File(v, delayMs: v == 2 ? 30 : 0));
        await OtherProcess()
            .SetTrafficAsync(
                model,
                new TrafficConfig
                {
                    Routes = [new(1, 70), new(2, 30)],
                    AutoRollback = new AutoRollbackPolicy
                    {
                        MaxP99LatencyMs = 15,
                        MinRequests = 5,
                        WindowSeconds = 60,
                    },
                }
            );
        await Host.Runtime.RefreshAsync(model);

        await Parallel.ForEachAsync(
            Enumerable.Range(0, 60),
            new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => Assert.Equal(200, (await Host.PredictAsync(model, Rows(1), key: $"u{i}")).Status)
        );
        await Host.App.Services.GetRequiredService<ServingBackgroundService>().CheckCanariesAsync();

        var last = (await OtherProcess().GetHistoryAsync(model))[^1];
        Assert.Equal(ChangeKind.AutoRollback, last.Kind);
        Assert.Contains("p99 latency", last.Reason);
        Assert.Equal(1, (await Host.PredictAsync(model, Rows(1), key: "u1")).Body.GetProperty("version").GetInt32());
    }

    [Fact]
    public void AddServing_InvalidOptions_ThrowAtStartup()
    {
        var services = new ServiceCollection();
        Assert.Throws<ArgumentException>(() => services.AddServing(o => o.MaxBatchRows = 0));
        Assert.Throws<ArgumentException>(() => services.AddServing(o => o.PredictionLogSampleRate = 2));
        Assert.Throws<ArgumentException>(() => services.AddServing(o => o.PollInterval = TimeSpan.Zero));
    }

    [Fact]
    public async Task TrafficAndRegistryHttp_ValidateAndRecordHistory()
    {
        string model = await SetUpModelAsync(2);
        var bad = await Host.Client.PutAsJsonAsync(
            $"/api/models/{model}/traffic",
            new { routes = new[] { new { version = 1, weight = 70 }, new { version = 5, weight = 20 } } }
        );
        Assert.Equal(400, (int)bad.StatusCode);
        string text = await bad.Content.ReadAsStringAsync();
        Assert.Contains("sum to 90", text);
        Assert.Contains("version 5 does not exist", text);

        var ok = await Host.Client.PutAsJsonAsync(
            $"/api/models/{model}/traffic",
            new
            {
                routes = new[] { new { version = 1, weight = 90 }, new { version = 2, weight = 10 } },
                reason = "canary",
                actor = "alice",
            }
        );
        Assert.Equal(200, (int)ok.StatusCode);
        var promote = await Host.Client.PostAsJsonAsync(
            $"/api/models/{model}/promote",
            new { version = 2, reason = "canary good" }
        );
        Assert.Equal(200, (int)promote.StatusCode);
        Assert.Equal(2, (await Host.PredictAsync(model, Rows(1))).Body.GetProperty("version").GetInt32()); // applied at once on this host

        var details = JsonDocument.Parse(await Host.Client.GetStringAsync($"/api/models/{model}")).RootElement;
        Assert.Equal("production", details.GetProperty("versions")[1].GetProperty("aliases")[0].GetString());
        var rollback = await Host.Client.PostAsync($"/api/models/{model}/rollback", null);
        Assert.Equal(200, (int)rollback.StatusCode);
        var history = JsonDocument.Parse(await Host.Client.GetStringAsync($"/api/models/{model}/history")).RootElement;
        Assert.Equal(
            ["promote", "traffic", "promote", "rollback"],
            history.EnumerateArray().Select(h => h.GetProperty("kind").GetString()!).ToArray()
        );
        Assert.Equal("alice", history[1].GetProperty("actor").GetString());
        var at = Uri.EscapeDataString(history[2].GetProperty("at").GetDateTimeOffset().ToString("O"));
        var then = JsonDocument
            .Parse(await Host.Client.GetStringAsync($"/api/models/{model}/history?at={at}"))
            .RootElement;
        Assert.Equal(2, then.GetProperty("aliases").GetProperty("production").GetInt32());
        Assert.Equal(200, (int)(await Host.Client.GetAsync($"/api/models/{model}/compare?a=1&b=2")).StatusCode);
        Assert.Equal(404, (int)(await Host.Client.GetAsync($"/api/models/{model}/versions/7")).StatusCode);
        Assert.Equal(
            409,
            (int)(await Host.Client.PostAsync($"/api/models/{model}/versions/1/archive", null)).StatusCode
        );
        // Approve/reject is no registry route: it is the durable event to the waiting run (the Functions tests cover
        // it).
        Assert.Equal(
            404,
            (int)
                (
                    await Host.Client.PostAsJsonAsync($"/api/models/{model}/versions/2/approve", new { reason = "ok" })
                ).StatusCode
        );
    }

    [Fact]
    public async Task OpenApi_DocumentsServingAndRegistryRoutes()
    {
        string doc = await Host.Client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/models/{model}/predict", doc);
        Assert.Contains("/api/models/{model}/traffic", doc);
        Assert.Contains("/api/models/{model}/rollback", doc);
    }
}
