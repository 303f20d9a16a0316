using System.Collections.Concurrent;
using System.Text.Json;

namespace Mlops.Durable.Tests;

public sealed class OrchestrationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private Task<DurableTestHost> Host(Action<DurableRegistry> register, Action<DurableWorkerOptions>? configure = null) =>
        DurableTestHost.StartAsync(azurite.ConnectionString, register, configure);

    [Fact]
    public async Task Sequence_of_activities_returns_their_combined_output()
    {
        await using var host = await Host(r => r
            .AddOrchestrator("Hello", async ctx =>
            {
                var names = ctx.GetInput<string[]>();
                var parts = new List<string>();
                foreach (var n in names) parts.Add(await ctx.CallActivityAsync<string>("Greet", n));
                return string.Join(" ", parts);
            })
            .AddActivity("Greet", ctx => Task.FromResult<object?>($"hello {ctx.GetInput<string>()}")));

        var status = await host.RunAsync("Hello", new[] { "a", "b", "c" });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, status.RuntimeStatus);
        Assert.Equal("hello a hello b hello c", status.ReadOutputAs<string>());
    }
}
