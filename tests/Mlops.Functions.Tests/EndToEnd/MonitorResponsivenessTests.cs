using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Mlops.Testing.Chaos;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>
/// Predictions keep being answered while a monitor run computes over the prediction log in the same process (the
/// run's reader leaves a core to serving). A liveness check with a generous bound, not a latency target.
/// </summary>
public sealed class MonitorResponsivenessTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    [Fact]
    public async Task PredictionsAreAnswered_WhileAMonitorRunComputes()
    {
        await host.DropAsync(
            "responsive",
            "data.csv",
            ChaosRun.SyntheticCsv(600, 4),
            """{"target":"label","task":"binary","trainer":"linear"}"""
        );
        Assert.Equal(
            "Completed",
            (await host.WaitForDropRunAsync("responsive", "data.csv", TimeSpan.FromSeconds(90)))
                .GetProperty("runtimeStatus")
                .GetString()
        );

        // A window worth computing: 100 batches of 1,000 logged predictions.
        var rng = new Random(3);
        for (int b = 0; b < 100; b++)
        {
            var rows = Enumerable
                .Range(0, 1000)
                .Select(_ => new
                {
                    x1 = rng.NextDouble() * 3,
                    x2 = -rng.NextDouble(),
                    noise = rng.NextDouble(),
                });
            Assert.Equal(
                HttpStatusCode.OK,
                (await host.Http.PostAsJsonAsync("/api/models/responsive/predict", new { rows })).StatusCode
            );
        }
        await Task.Delay(2000); // the log is flushed in the background

        var started = await host.Admin.PostAsync("/api/models/responsive/monitor", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        string runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString()!;
        var client = host.Client;

        var latencies = new List<double>();
        var single = new
        {
            rows = new[]
            {
                new
                {
                    x1 = 1.0,
                    x2 = -0.5,
                    noise = 0.3,
                },
            },
        };
        OrchestrationMetadata? status;
        do
        {
            var sw = Stopwatch.StartNew();
            var response = await host.Http.PostAsJsonAsync("/api/models/responsive/predict", single);
            latencies.Add(sw.Elapsed.TotalMilliseconds);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            status = await client.GetInstanceAsync(runId);
        } while (status is null || !status.IsCompleted);

        Assert.True(
            status.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
            $"{status.RuntimeStatus}: {status.FailureDetails?.ErrorMessage} {status.SerializedOutput}"
        );
        output.WriteLine(
            $"{latencies.Count} predictions during the run; max {latencies.Max():F0} ms, median {latencies.Order().ElementAt(latencies.Count / 2):F1} ms"
        );
        Assert.True(latencies.Count >= 3, "the run should have lasted long enough to overlap some predictions");
        Assert.True(latencies.Max() < 5000, $"a prediction waited {latencies.Max():F0} ms during the monitor run");
    }
}
