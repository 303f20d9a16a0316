using System.Diagnostics;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Mlops.Host.Durable;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Host.Tests.Durable;

/// <summary>
/// Liveness of dispatch through the host on Azurite (test app host.json: 2 partitions, 1 s maximum polling interval,
/// extended sessions on): a long sequential chain and a series of one-activity orchestrations complete with the right
/// results. The rates and where a hop's time goes are printed, not asserted: timing targets live in the benchmark
/// (<c>bench/Mlops.Bench -- durable</c>), which runs on a machine the lead keeps quiet.
/// </summary>
[Collection(DurableHostCollection.Name)]
public sealed class DurablePerformanceTests(DurableHostFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task ChainOrchestrator_SixtySequentialActivities_CompleteInOrderWithTheirSum()
    {
        const int steps = 60;
        await RunAsync(new ChainInput(3, 0)); // warm: the first episodes pay JIT and connection set-up

        var (id, elapsed) = await RunAsync(new ChainInput(steps, 0));

        output.WriteLine(
            $"{steps} sequential activities in {elapsed.TotalMilliseconds:F0} ms: {steps / elapsed.TotalSeconds:F1}/s"
        );
        var history = await fixture.Client.GetOrchestrationHistoryAsync(id);
        output.WriteLine(HopBreakdown.Describe(history));
        // Each step's result is in the history once, in order: nothing was lost or run twice on the fast path.
        var completed = history.OfType<TaskCompletedEvent>().Select(e => int.Parse(e.Result!)).ToList();
        Assert.Equal(Enumerable.Range(0, steps), completed);
    }

    [Fact]
    public async Task ChainOrchestrator_OneActivity_EachOfSevenRunsCompletes()
    {
        await RunAsync(new ChainInput(1, 0));
        var samples = new List<double>();
        for (int i = 0; i < 7; i++)
            samples.Add((await RunAsync(new ChainInput(1, 0))).Elapsed.TotalMilliseconds);
        samples.Sort();
        output.WriteLine(
            $"one-activity orchestration, start to completed: median {samples[3]:F0} ms, min {samples[0]:F0}, max {samples[^1]:F0}"
        );
        Assert.Equal(7, samples.Count);
    }

    private async Task<(string Id, TimeSpan Elapsed)> RunAsync(ChainInput input)
    {
        var watch = Stopwatch.StartNew();
        string id = await fixture.Client.ScheduleNewOrchestrationInstanceAsync("ChainOrchestrator", input);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var done = await fixture.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        watch.Stop();
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, input.Steps).Sum(), done.ReadOutputAs<int>());
        return (id, watch.Elapsed);
    }
}
