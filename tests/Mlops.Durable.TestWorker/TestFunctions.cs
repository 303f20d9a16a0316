using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Table;

namespace Mlops.Durable.TestWorker;

/// <summary>
/// Orchestrations used by the crash, scale-out and outage tests. The <c>Effect</c> activity records its effect under
/// its idempotency key with a conditional insert, so a redelivered call finds its effect and does not repeat it; the
/// tests then count exactly one effect row per call.
/// </summary>
public static class TestFunctions
{
    // Storage outages make an activity's own storage call fail; a retry covers that, as in a real pipeline.
    private static readonly TaskOptions Retry = TaskOptions.WithRetry(5, TimeSpan.FromMilliseconds(500), 2);

    /// <summary>Input of the chain orchestration.</summary>
    public sealed record ChainInput(int Steps, int DelayMs = 0);

    /// <summary>Registers Chain, FanOut and Effect, writing effects to <paramref name="effects"/>.</summary>
    public static DurableRegistry Register(DurableRegistry registry, CloudTable effects, string workerTag)
    {
        registry.AddOrchestrator("Chain", async ctx =>
        {
            var input = ctx.GetInput<ChainInput>();
            long sum = 0;
            for (int i = 0; i < input.Steps; i++)
                sum += await ctx.CallActivityAsync<long>("Effect", new EffectInput(i, input.DelayMs), Retry);
            return sum;
        });
        registry.AddOrchestrator("FanOut", async ctx =>
        {
            var input = ctx.GetInput<ChainInput>();
            var tasks = Enumerable.Range(0, input.Steps).Select(i => ctx.CallActivityAsync<long>("Effect", new EffectInput(i, input.DelayMs), Retry)).ToList();
            return (await Task.WhenAll(tasks)).Sum();
        });
        registry.AddActivity("Effect", async ctx =>
        {
            var input = ctx.GetInput<EffectInput>();
            if (input.DelayMs > 0) await Task.Delay(Random.Shared.Next(input.DelayMs), ctx.CancellationToken);
            string key = Sanitize(ctx.IdempotencyKey);
            // The effect: exactly one row per call. A redelivery sees the row and reports the recorded value.
            var row = new DynamicTableEntity(Sanitize(ctx.InstanceId), key)
            {
                Properties = { ["Value"] = new EntityProperty((long)input.Value), ["Worker"] = new EntityProperty(workerTag), ["At"] = new EntityProperty(DateTime.UtcNow) },
            };
            // Keep trying through storage outages: a failed attempt whose insert did land would otherwise be retried
            // by the orchestrator as a new call (new key) and record a second effect.
            for (var deadline = DateTime.UtcNow.AddSeconds(60); ; )
            {
                try { await effects.ExecuteAsync(TableOperation.Insert(row)); break; }
                catch (StorageException e) when (e.RequestInformation?.HttpStatusCode == 409) { break; }
                catch (StorageException) when (DateTime.UtcNow < deadline) { await Task.Delay(500, ctx.CancellationToken); }
            }
            return (object?)(long)input.Value;
        });
        return registry;
    }

    /// <summary>Input of one Effect call.</summary>
    public sealed record EffectInput(int Value, int DelayMs);

    /// <summary>Table keys must not contain '/', '\', '#', '?'.</summary>
    public static string Sanitize(string s) => s.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');
}
