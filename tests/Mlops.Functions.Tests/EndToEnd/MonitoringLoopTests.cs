using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Mlops.Data.Alerts;
using Mlops.Testing;
using Mlops.Testing.Chaos;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>
/// The loop closes by itself: a served model gets shifted traffic and wrong-way labels; an on-demand monitor run
/// reports the drift and the drop, alerts a webhook, and starts a retraining with trigger kind <c>monitor</c>; a second
/// breach inside the cooldown starts nothing.
/// </summary>
[Collection(ProcessEnvironment.Name)]
public sealed class MonitoringLoopTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ShiftedTrafficAndWrongLabels_MonitorReportsBoth_Alerts_RetrainsOnce()
    {
        using var hook = new WebhookReceiver();
        // The host-wide alert webhook is an app setting of the worker (http allowed for this local receiver).
        await using var host = await FunctionHostFixture.StartAsync(
            "loop",
            new Dictionary<string, string>
            {
                ["MLOPS_ALERT_WEBHOOK"] = hook.Url("monitor"),
                [WebhookOptions.AllowHttpVariable] = "true",
                [WebhookOptions.AllowLoopbackVariable] = "true",
            }
        );
        var http = host.Http;
        var admin = host.Admin;
        {
            var storage = host.Storage;
            const string config = """
                {"target":"label","task":"binary","trainer":"linear",
                 "monitoring":{"window":"PT1H","retrain":{"when":[{"signal":"data_drift","share":0.5},{"signal":"performance","metric":"accuracy","drop":0.1}],"trainOn":"accepted+feedback","cooldown":"PT6H","maxPerDay":2}}}
                """;
            await storage.Blobs.WriteAsync("incoming", "loop/mlops.json", Encoding.UTF8.GetBytes(config));
            await storage.Blobs.WriteAsync("incoming", "loop/data.csv", ChaosRun.SyntheticCsv(600, 3));
            await WaitAsync(
                async () =>
                    (await http.GetAsync("/api/models/loop")).StatusCode == HttpStatusCode.OK
                    && (await http.GetStringAsync("/api/models/loop")).Contains("\"production\""),
                "the first model was not promoted"
            );

            // Production traffic whose features moved (x1, x2 far outside training), then labels that contradict the
            // model.
            var rng = new Random(5);
            var rows = Enumerable
                .Range(0, 300)
                .Select(i => new
                {
                    x1 = 10 + rng.NextDouble(),
                    x2 = -10 - rng.NextDouble(),
                    noise = rng.NextDouble(),
                })
                .ToList();
            var predicted = await (
                await http.PostAsJsonAsync("/api/models/loop/predict", new { rows })
            ).Content.ReadFromJsonAsync<JsonElement>();
            var ids = predicted.GetProperty("predictionIds").EnumerateArray().Select(e => e.GetString()!).ToList();
            var labels = predicted
                .GetProperty("predictions")
                .EnumerateArray()
                .Select(p => p.GetProperty("label").GetString() == "1" ? 0 : 1)
                .ToList();
            Assert.Equal(300, ids.Count);
            var feedback = await admin.PostAsJsonAsync(
                "/api/models/loop/feedback",
                new { labels = ids.Zip(labels, (id, l) => new { predictionId = id, label = l }) }
            );
            Assert.Equal(HttpStatusCode.OK, feedback.StatusCode);
            await Task.Delay(3000); // the prediction log is flushed in the background

            var first = await RunMonitorAsync(admin, http);
            output.WriteLine(first.ToString());
            output.WriteLine(
                await http.GetStringAsync($"/api/models/loop/monitoring/{first.GetProperty("runId").GetString()}")
            );
            Assert.Equal("breach", first.GetProperty("verdicts").GetProperty("data_drift").GetString());
            Assert.Equal("breach", first.GetProperty("verdicts").GetProperty("performance").GetString());
            Assert.True(first.GetProperty("retrain").GetBoolean());

            var client = host.Client;
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120))) // the decision is recorded before the retraining starts
                Assert.Equal(
                    OrchestrationRuntimeStatus.Completed,
                    (
                        await client.WaitForInstanceCompletionAsync(first.GetProperty("runId").GetString()!, cts.Token)
                    ).RuntimeStatus
                );
            var retrains = await InstancesAsync(client, "train-loop-mon-");
            Assert.Single(retrains);
            var retrain = await client.GetInstanceAsync(retrains[0], getInputsAndOutputs: true);
            Assert.Contains("\"kind\":\"monitor\"", retrain!.SerializedInput);
            Assert.Contains("monitor run", retrain.SerializedInput);
            await WaitAsync(() => Task.FromResult(hook.Bodies.Count > 0), "no alert reached the webhook");

            // trainOn accepted+feedback: the retraining trained on the accepted data plus the labeled production rows
            // (recorded in the trial's params), and those rows did not become the dataset's "latest version".
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
                Assert.Equal(
                    OrchestrationRuntimeStatus.Completed,
                    (await client.WaitForInstanceCompletionAsync(retrains[0], cts.Token)).RuntimeStatus
                );
            var trialParams = await storage.Blobs.ReadAsync("runs", $"{retrains[0]}-t0/params.json");
            Assert.Contains("labels:loop/training/", Encoding.UTF8.GetString(trialParams!.Data));
            Assert.DoesNotContain("labels/", await http.GetStringAsync("/api/datasets/loop"));

            // A second breach inside the cooldown: recorded, no second retraining.
            var second = await RunMonitorAsync(admin, http, skip: first.GetProperty("runId").GetString());
            Assert.False(second.GetProperty("retrain").GetBoolean());
            Assert.Contains("cooldown", second.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.Single(await InstancesAsync(client, "train-loop-mon-"));
        }
    }

    /// <summary>Starts a monitor run and waits for its summary (with the retraining decision) in the listing.</summary>
    private static async Task<JsonElement> RunMonitorAsync(HttpClient admin, HttpClient http, string? skip = null)
    {
        var started = await admin.PostAsync("/api/models/loop/monitor", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        JsonElement found = default;
        await WaitAsync(
            async () =>
            {
                var list = await http.GetFromJsonAsync<JsonElement>("/api/models/loop/monitoring");
                foreach (var run in list.GetProperty("runs").EnumerateArray())
                    if (
                        run.GetProperty("runId").GetString() != skip
                        && run.TryGetProperty("retrain", out var r)
                        && r.ValueKind != JsonValueKind.Null
                    )
                    {
                        found = run;
                        return true;
                    }
                return false;
            },
            "the monitor run did not finish"
        );
        return found;
    }

    private static async Task<List<string>> InstancesAsync(DurableTaskClient client, string prefix)
    {
        var ids = new List<string>();
        await foreach (var m in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix }))
            ids.Add(m.InstanceId);
        return ids;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(what);
            await Task.Delay(300);
        }
    }
}

/// <summary>
/// Tests that set a process-wide environment variable (MLOPS_ALERT_WEBHOOK) run alone: a host that another test class
/// builds meanwhile would read it (an http URL its https-only webhook options refuse).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public const string Name = "process environment";
}
