using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask;

namespace Mlops.Durable.Local.TestWorker;

/// <summary>
/// Orchestrations for the runtime and crash tests. <c>Effect</c> records each call as a create-only blob named by
/// (instance, step), as a real idempotent activity would, so a test can count effects and see duplicates.
/// </summary>
public static class TestTasks
{
    public const string EffectsContainer = "effects";

    public static DurableTaskRegistry AddTestTasks(this DurableTaskRegistry registry, string connectionString) =>
        registry
            .AddActivityFunc<string, string>("Echo", (_, s) => s)
            .AddActivityFunc<int, int>("Square", (_, i) => i * i)
            .AddActivityFunc<EffectInput, int>("Effect", async (ctx, input) =>
            {
                await Task.Delay(input.DelayMs);
                var container = new BlobContainerClient(connectionString, EffectsContainer);
                await container.CreateIfNotExistsAsync();
                var blob = container.GetBlobClient($"{ctx.InstanceId}/{input.Step:D4}");
                try
                {
                    await blob.UploadAsync(
                        BinaryData.FromString("x"),
                        new BlobUploadOptions { Conditions = new() { IfNoneMatch = Azure.ETag.All } }
                    );
                }
                catch (Azure.RequestFailedException e) when (e.Status is 409 or 412) { } // already done by an earlier attempt
                return input.Step;
            })
            .AddActivityFunc<int, int>("FailTwice", (ctx, attempt) => FailTwice.Run(ctx.InstanceId))
            .AddOrchestratorFunc<ChainInput, int>("Chain", async (ctx, input) =>
            {
                int sum = 0;
                for (int i = 0; i < input.Steps; i++)
                {
                    sum += await ctx.CallActivityAsync<int>("Effect", new EffectInput(i, input.DelayMs));
                    ctx.SetCustomStatus(new { done = i + 1, of = input.Steps });
                }
                return sum;
            })
            .AddOrchestratorFunc<int, int>("FanOut", async (ctx, n) =>
                (await Task.WhenAll(Enumerable.Range(1, n).Select(i => ctx.CallActivityAsync<int>("Square", i)))).Sum()
            )
            .AddOrchestratorFunc<int, string>("Approval", async (ctx, timeoutSeconds) =>
            {
                try
                {
                    return "approved by "
                        + await ctx.WaitForExternalEvent<string>("approve", TimeSpan.FromSeconds(timeoutSeconds));
                }
                catch (TaskCanceledException)
                {
                    return "timed out";
                }
            })
            .AddOrchestratorFunc<int, int>("Retry", (ctx, _) =>
                ctx.CallActivityAsync<int>(
                    "FailTwice",
                    0,
                    TaskOptions.FromRetryPolicy(new RetryPolicy(4, TimeSpan.FromMilliseconds(200)))
                )
            )
            .AddOrchestratorFunc<int, int>("Parent", async (ctx, n) =>
                await ctx.CallSubOrchestratorAsync<int>("FanOut", n) + 1
            )
            .AddOrchestratorFunc<int, int>("Counter", async (ctx, n) =>
            {
                if (n >= 3)
                    return n;
                await ctx.CreateTimer(TimeSpan.FromMilliseconds(100), CancellationToken.None);
                ctx.ContinueAsNew(n + 1);
                return n;
            });
}

public sealed record ChainInput(int Steps, int DelayMs = 0);

public sealed record EffectInput(int Step, int DelayMs);

/// <summary>Fails the first two calls per instance (in this process), then succeeds: retries must get it
/// through.</summary>
internal static class FailTwice
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Calls = new();

    public static int Run(string instanceId)
    {
        int n = Calls.AddOrUpdate(instanceId, 1, (_, c) => c + 1);
        if (n <= 2)
            throw new InvalidOperationException($"planned failure {n}");
        return n;
    }
}
