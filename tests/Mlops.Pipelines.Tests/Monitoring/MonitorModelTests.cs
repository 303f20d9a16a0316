using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;
using Mlops.Monitoring;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Reference;
using Mlops.Pipelines.Monitoring;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Pipelines.Tests.Monitoring;

/// <summary>MonitorModel on the in-process durable test host, over in-memory storage.</summary>
public sealed class MonitorModelTests
{
    private const string Policy = """
        {"window":"PT2H","retrain":{"when":[{"signal":"data_drift","share":0.5}],"trainOn":"accepted+feedback","cooldown":"PT6H","maxPerDay":2}}
        """;

    private sealed class Source(string? json) : IMonitoringSource
    {
        public Task<string?> GetMonitoringJsonAsync(string model, CancellationToken cancellationToken) =>
            Task.FromResult(json);

        public Task<int?> GetServingVersionAsync(string model, CancellationToken cancellationToken) =>
            Task.FromResult<int?>(model == "mdl" ? 1 : null);
    }

    private sealed class Launcher : IRetrainLauncher
    {
        public ConcurrentQueue<(string Model, string Reason)> Calls { get; } = new();

        public Task<string> StartRetrainingAsync(
            string model,
            string reason,
            string? feedbackRows,
            CancellationToken cancellationToken
        )
        {
            Calls.Enqueue((model, reason));
            return Task.FromResult($"train-{model}-{Calls.Count}");
        }
    }

    private sealed class Alerts : IAlertSink
    {
        public ConcurrentQueue<Alert> Sent { get; } = new();

        public Task SendAsync(Alert alert, CancellationToken cancellationToken = default)
        {
            Sent.Enqueue(alert);
            return Task.CompletedTask;
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static double[] Normal(Random rng, int n, double mean)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++)
            a[i] = mean + Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return a;
    }

    /// <summary>Reference x0 ~ N(0, 1); the window's x0 ~ N(<paramref name="shift"/>, 1).</summary>
    private static async Task<List<string>> SeedAsync(IBlobStore blobs, DateTimeOffset windowEnd, double shift)
    {
        var rng = new Random(5);
        var refValues = Normal(rng, 5000, 0);
        Array.Sort(refValues);
        var scores = refValues.Select(v => 1 / (1 + Math.Exp(-v))).Order().ToArray();
        var profile = new ReferenceProfile
        {
            Task = "binary",
            Target = "y",
            Classes = ["0", "1"],
            Rows = 5000,
            CreatedUtc = windowEnd.AddDays(-3),
            Features = [FeatureSummaries.Numeric("x0", refValues, 5000, ReferenceProfile.ExactUpTo)],
            Score = FeatureSummaries.Numeric("score", scores, 5000, ReferenceProfile.ExactUpTo),
            Metrics = new Dictionary<string, double> { ["auc"] = 0.9 },
        };
        await new MonitoringStore(blobs, new InMemoryTableStore()).WriteReferenceAsync("mdl", 1, profile);
        var at = windowEnd.AddMinutes(-30);
        var lines = new StringBuilder();
        var ids = new List<string>();
        foreach (var x in Normal(rng, 400, shift))
        {
            ids.Add(PredictionIds.New(at));
            double s = 1 / (1 + Math.Exp(-x));
            var line = new
            {
                at,
                model = "mdl",
                version = 1,
                shadow = false,
                latencyMs = 0.1,
                ids = new[] { ids[^1] },
                inputs = new[] { new Dictionary<string, double> { ["x0"] = x } },
                outputs = new[]
                {
                    new
                    {
                        label = s >= 0.5 ? "1" : "0",
                        probabilities = new Dictionary<string, double> { ["0"] = 1 - s, ["1"] = s },
                    },
                },
            };
            lines.Append(JsonSerializer.Serialize(line)).Append('\n');
        }
        await blobs.AppendAsync(
            "predictions",
            $"mdl/{at.UtcDateTime:yyyy/MM/dd/HH}/h-0.jsonl",
            Encoding.UTF8.GetBytes(lines.ToString())
        );
        return ids;
    }

    private static async Task<(
        DurableTaskTestHost Host,
        Launcher Launcher,
        Alerts Alerts,
        InMemoryBlobStore Blobs,
        InMemoryTableStore Tables
    )> StartAsync(string? policy)
    {
        var blobs = new InMemoryBlobStore();
        var tables = new InMemoryTableStore();
        var launcher = new Launcher();
        var alerts = new Alerts();
        var host = await DurableTaskTestHost.StartAsync(
            r => r.AddMonitoring().AddAlertDelivery(),
            new DurableTaskTestHostOptions
            {
                Port = FreePort(),
                ConfigureServices = services =>
                {
                    services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
                    services.AddSingleton<IBlobStore>(blobs);
                    services.AddSingleton<ITableStore>(tables);
                    services.AddSingleton<IMonitoringSource>(new Source(policy));
                    services.AddSingleton<IRetrainLauncher>(launcher);
                    services.AddSingleton<IAlertSink>(alerts);
                    services.AddMonitoringServices();
                },
            }
        );
        return (host, launcher, alerts, blobs, tables);
    }

    private static async Task<OrchestrationMetadata> WaitAsync(DurableTaskTestHost host, string id)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
    }

    private static async Task<MonitorResult> RunAsync(DurableTaskTestHost host, MonitorRequest request)
    {
        var state = await WaitAsync(
            host,
            await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(MonitorModel), request)
        );
        Assert.True(
            state.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
            $"{state.RuntimeStatus}: {state.FailureDetails?.ErrorMessage}"
        );
        return state.ReadOutputAs<MonitorResult>()!;
    }

    [Fact]
    public async Task MonitorModel_DriftedWindow_ReportsRetrainsOnceThenCooldownHoldsBack()
    {
        var (host, launcher, alerts, blobs, tables) = await StartAsync(Policy);
        await using var _ = host;
        var windowEnd = DateTimeOffset.UtcNow;
        var ids = await SeedAsync(blobs, windowEnd, shift: 2);
        var feedback = host.Services.GetRequiredService<FeedbackStore>();
        await feedback.IngestJsonAsync(
            "mdl",
            Encoding.UTF8.GetBytes(
                JsonSerializer.Serialize(
                    new { labels = ids.Take(25).Select((id, i) => new { predictionId = id, label = i % 2 }) }
                )
            ),
            TimeSpan.FromDays(30)
        );

        var first = await RunAsync(host, new MonitorRequest("mdl", WindowEnd: windowEnd));
        Assert.Equal("breach", first.Verdicts["data_drift"]);
        Assert.True(first.Retrain);
        Assert.Equal("train-mdl-1", first.RetrainRunId);
        var (model, reason) = Assert.Single(launcher.Calls);
        Assert.Equal("mdl", model);
        Assert.Contains("data drift", reason);
        Assert.Contains("25 labeled production rows", reason);
        var rows = Encoding
            .UTF8.GetString(
                (
                    await blobs.ReadAsync(
                        FeedbackStore.DefaultContainer,
                        FeedbackTrainingSet.BlobName("mdl", first.RunId)
                    )
                )!.Data
            )
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("x0,y", rows[0]);
        Assert.Equal(26, rows.Length);
        Assert.NotNull(await blobs.ReadAsync(MonitoringStore.DefaultContainer, $"mdl/{first.RunId}/report.html"));
        var drift = Assert.Single(alerts.Sent, a => a.Signal == "data_drift");
        Assert.Equal(("monitor_breach", AlertSeverity.Warning, "mdl"), (drift.Kind, drift.Severity, drift.Model));
        Assert.Equal($"{MonitoringStore.DefaultContainer}/{first.ReportBlob}", drift.ReportLink);
        var retrain = Assert.Single(alerts.Sent, a => a.Signal == "retrain");
        Assert.Equal(("retrain_started", AlertSeverity.Warning), (retrain.Kind, retrain.Severity));
        Assert.Equal(alerts.Sent.Count, first.AlertsSent);
        // Each delivered alert is recorded once, as delivered, under its key.
        var records = await tables.QueryAsync(Mlops.Pipelines.Activities.SendAlert.Table, "mdl");
        Assert.Equal(alerts.Sent.Select(a => a.DedupKey).Order(), records.Select(r => r.GetString("DedupKey")).Order());
        Assert.All(records, r => Assert.Equal(Mlops.Pipelines.Activities.SendAlert.Delivered, r.GetString("Status")));

        // Same window again: the policy still sees drift, but the cooldown holds the retraining back and the
        // already-sent (model, signal, window) alert is not repeated.
        int alertsBefore = alerts.Sent.Count;
        var second = await RunAsync(host, new MonitorRequest("mdl", WindowEnd: windowEnd));
        Assert.False(second.Retrain);
        Assert.Contains("cooldown", second.Reason);
        Assert.Single(launcher.Calls);
        Assert.DoesNotContain(alerts.Sent.Skip(alertsBefore), a => a.Signal == "data_drift");
        var decisions = await tables.QueryAsync(MonitoringStore.DecisionsTable, "mdl");
        Assert.Equal(2, decisions.Count);
        Assert.Equal("train-mdl-1", decisions.Single(d => d.GetBool("Retrain") == true).GetString("RetrainRunId"));
        var runs = await new MonitoringStore(blobs, tables).ListRunsAsync("mdl");
        Assert.Equal(2, runs.Count);
    }

    [Fact]
    public async Task MonitorModel_StableWindowWithoutPolicy_NoRetrainNoDriftAlert()
    {
        var (host, launcher, alerts, blobs, _) = await StartAsync(policy: null);
        await using var _h = host;
        var windowEnd = DateTimeOffset.UtcNow;
        await SeedAsync(blobs, windowEnd, shift: 0);

        var result = await RunAsync(host, new MonitorRequest("mdl", WindowEnd: windowEnd));
        Assert.Equal("ok", result.Verdicts["data_drift"]);
        Assert.False(result.Retrain);
        Assert.Empty(launcher.Calls);
        // The reference auc (0.9) is above what CBPE expects from these scores, so only that signal may alert.
        Assert.DoesNotContain(alerts.Sent, a => a.Signal is "data_drift" or "retrain" or "prediction_drift");
    }

    [Fact]
    public async Task MonitorModel_BadPolicy_FailsNamingTheKey()
    {
        var (host, _, _, blobs, _) = await StartAsync("""{"retrain":{"when":[{"signal":"data_drift","share":2}]}}""");
        await using var _h = host;
        await SeedAsync(blobs, DateTimeOffset.UtcNow, shift: 0);
        var state = await WaitAsync(
            host,
            await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(MonitorModel), new MonitorRequest("mdl"))
        );
        Assert.Equal(OrchestrationRuntimeStatus.Failed, state.RuntimeStatus);
        Assert.Contains("monitoring.retrain.when[0].share", state.FailureDetails!.ErrorMessage);
    }

    [Fact]
    public async Task DurableMonitorLauncher_SameTickTwice_OneRunAndItsWindowEndsAtTheTick()
    {
        var (host, _, _, blobs, _) = await StartAsync(Policy);
        await using var _h = host;
        var tick = new DateTimeOffset(DateTimeOffset.UtcNow.Year, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await SeedAsync(blobs, tick, shift: 0);
        var launcher = new DurableMonitorLauncher(host.Client);

        string first = await launcher.StartScheduledAsync("mdl", tick);
        string second = await launcher.StartScheduledAsync("mdl", tick);
        Assert.Equal(first, second);
        Assert.Equal(DurableMonitorLauncher.ForTick("mdl", tick), first);
        var state = await WaitAsync(host, first);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, state.RuntimeStatus);
        var report = await new MonitoringStore(blobs, new InMemoryTableStore()).ReadReportAsync("mdl", first);
        Assert.Equal(tick, report!.Window.To);
        Assert.Equal(tick.AddHours(-2), report.Window.From); // the policy's PT2H window
        Assert.Equal(400, report.Window.Rows);
    }
}
