using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Mlops.Host.TestApp;

/// <summary>Input of <see cref="DurableScenarios.ChainOrchestrator"/>: how many sequential steps, each taking how
/// long.</summary>
public sealed record ChainInput(int Steps, int DelayMs);

/// <summary>Input of <see cref="DurableScenarios.ChainStep"/>.</summary>
public sealed record StepInput(int Index, int DelayMs);

/// <summary>
/// The Durable features the host's dispatch must carry (the MLOps app uses each): sequential activities with custom
/// status, an activity failure seen as TaskFailedException, an external event raced against a durable timer,
/// fan-out with a sub-orchestration, ContinueAsNew, an orchestrator that fails, and a DurableClient inside an activity.
/// </summary>
public static class DurableScenarios
{
    /// <summary>Calls <see cref="ChainStep"/> once per step, in order; the output is the sum of the step
    /// indexes.</summary>
    [Function(nameof(ChainOrchestrator))]
    public static async Task<int> ChainOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var input = context.GetInput<ChainInput>() ?? throw new ArgumentException("A ChainInput is required.");
        int sum = 0;
        for (int i = 0; i < input.Steps; i++)
        {
            sum += await context.CallActivityAsync<int>(nameof(ChainStep), new StepInput(i, input.DelayMs));
            context.SetCustomStatus(new { done = i + 1 });
        }
        return sum;
    }

    /// <summary>Waits the step's delay and answers its index.</summary>
    [Function(nameof(ChainStep))]
    public static async Task<int> ChainStep([ActivityTrigger] StepInput input)
    {
        if (input.DelayMs > 0)
            await Task.Delay(input.DelayMs);
        return input.Index;
    }

    /// <summary>Calls <see cref="FailingStep"/> and answers the failure it caught as "type|message".</summary>
    [Function(nameof(CatchingOrchestrator))]
    public static async Task<string> CatchingOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        try
        {
            await context.CallActivityAsync(nameof(FailingStep), context.GetInput<string>());
            return "no failure";
        }
        catch (TaskFailedException e)
        {
            return $"{e.FailureDetails.ErrorType}|{e.FailureDetails.ErrorMessage}";
        }
    }

    /// <summary>Always throws, naming its input.</summary>
    [Function(nameof(FailingStep))]
    public static void FailingStep([ActivityTrigger] string what) =>
        throw new InvalidOperationException($"step failed for {what}");

    /// <summary>Throws from the orchestrator itself (the instance fails).</summary>
    [Function(nameof(ThrowingOrchestrator))]
    public static Task<string> ThrowingOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context) =>
        throw new ArgumentOutOfRangeException(nameof(context), "orchestrator gave up");

    /// <summary>Waits for the "approval" event or a timer of the input's seconds, whichever comes first.</summary>
    [Function(nameof(ApprovalOrchestrator))]
    public static async Task<string> ApprovalOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        int seconds = context.GetInput<int>();
        using var cancel = new CancellationTokenSource();
        var timeout = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(seconds), cancel.Token);
        var approval = context.WaitForExternalEvent<string>("approval");
        if (await Task.WhenAny(approval, timeout) == approval)
        {
            cancel.Cancel();
            return "approved:" + approval.Result;
        }
        return "timeout";
    }

    /// <summary>Fans out three steps and a <see cref="ChainOrchestrator"/> sub-orchestration; the output is the
    /// total.</summary>
    [Function(nameof(FanOutOrchestrator))]
    public static async Task<int> FanOutOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var steps = Enumerable
            .Range(1, 3)
            .Select(i => context.CallActivityAsync<int>(nameof(ChainStep), new StepInput(i, 0)))
            .ToList();
        int sub = await context.CallSubOrchestratorAsync<int>(nameof(ChainOrchestrator), new ChainInput(3, 0));
        return sub + (await Task.WhenAll(steps)).Sum();
    }

    /// <summary>Continues as new until its counter reaches 3; the output is the final counter.</summary>
    [Function(nameof(CounterOrchestrator))]
    public static Task<int> CounterOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        int n = context.GetInput<int>();
        if (n < 3)
        {
            context.ContinueAsNew(n + 1);
            return Task.FromResult(-1);
        }
        return Task.FromResult(n);
    }

    /// <summary>Lists the ids of the instances whose id starts with the input, through the worker's
    /// DurableClient.</summary>
    [Function(nameof(ListByPrefix))]
    public static async Task<string[]> ListByPrefix(
        [ActivityTrigger] string prefix,
        [DurableClient] DurableTaskClient client
    )
    {
        var ids = new List<string>();
        await foreach (
            var instance in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix })
        )
            ids.Add(instance.InstanceId);
        ids.Sort(StringComparer.Ordinal);
        return [.. ids];
    }

    /// <summary>Runs <see cref="ListByPrefix"/> for the input prefix.</summary>
    [Function(nameof(ListOrchestrator))]
    public static Task<string[]> ListOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context) =>
        context.CallActivityAsync<string[]>(nameof(ListByPrefix), context.GetInput<string>());
}
