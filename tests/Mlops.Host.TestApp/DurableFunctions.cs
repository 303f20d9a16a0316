using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Mlops.Host.TestApp;

/// <summary>An orchestrator calling an activity, and the HTTP functions that start it and read its state.</summary>
public static class DurableFunctions
{
    /// <summary>Greets each name in turn through the activity; the output is the greetings joined.</summary>
    [Function(nameof(GreetingOrchestrator))]
    public static async Task<string> GreetingOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        string name = context.GetInput<string>() ?? "world";
        string first = await context.CallActivityAsync<string>(nameof(SayHello), name);
        string second = await context.CallActivityAsync<string>(nameof(SayHello), name + "2");
        return first + " " + second;
    }

    /// <summary>The activity: a greeting.</summary>
    [Function(nameof(SayHello))]
    public static string SayHello([ActivityTrigger] string name) => $"Hello {name}!";

    /// <summary>Starts <see cref="GreetingOrchestrator"/> with the query's name; answers 202 with the instance
    /// id.</summary>
    [Function(nameof(StartGreeting))]
    public static async Task<IActionResult> StartGreeting(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "greetings")] HttpRequest req,
        [DurableClient] DurableTaskClient client
    )
    {
        string instanceId = await client.ScheduleNewOrchestrationInstanceAsync(
            nameof(GreetingOrchestrator),
            req.Query["name"].ToString()
        );
        return new AcceptedResult($"greetings/{instanceId}", new { id = instanceId });
    }

    /// <summary>The instance's runtime status and output (404 when unknown).</summary>
    [Function(nameof(GetGreeting))]
    public static async Task<IActionResult> GetGreeting(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "greetings/{id}")] HttpRequest req,
        string id,
        [DurableClient] DurableTaskClient client
    )
    {
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true);
        if (instance is null)
            return new NotFoundResult();
        return new OkObjectResult(
            new
            {
                id,
                status = instance.RuntimeStatus.ToString(),
                output = instance.SerializedOutput,
            }
        );
    }
}
