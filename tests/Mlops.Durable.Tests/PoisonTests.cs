using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Queue;

namespace Mlops.Durable.Tests;

public sealed class PoisonTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Control_message_that_keeps_failing_is_poisoned_and_its_instance_failed_with_the_reason()
    {
        // No worker knows "Ghost": every delivery fails, so after MaxDequeueCount (default 5) it must be dead-lettered.
        await using var host = await DurableTestHost.StartAsync(azurite.ConnectionString, r => r.AddActivity("Noop", _ => Task.FromResult<object?>(null)),
            o => o.MaxPollingInterval = TimeSpan.FromMilliseconds(200));
        string id = await host.Client.StartNewAsync("Ghost");

        var status = await host.Client.WaitForCompletionAsync(id, TimeSpan.FromSeconds(40));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, status.RuntimeStatus);
        Assert.Equal("Mlops.Durable.PoisonMessage", status.FailureDetails!.ErrorType);
        Assert.Contains("failed 5 times", status.FailureDetails.ErrorMessage);
        var poison = CloudStorageAccount.Parse(azurite.ConnectionString).CreateCloudQueueClient().GetQueueReference(host.Options.TaskHubName + "-poison");
        var dead = await poison.PeekMessagesAsync(32);
        Assert.Single(dead);
        Assert.Contains(id, dead.First().AsString);
    }

    [Fact]
    public async Task Work_item_that_keeps_failing_is_poisoned_and_its_instance_failed()
    {
        await using var host = await DurableTestHost.StartAsync(azurite.ConnectionString,
            r => r.AddOrchestrator("CallsMissing", async ctx => await ctx.CallActivityAsync<int>("Missing")),
            o => o.MaxPollingInterval = TimeSpan.FromMilliseconds(200));

        var status = await host.RunAsync("CallsMissing", timeoutSeconds: 40);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, status.RuntimeStatus);
        Assert.Contains("activity 'Missing' (task 0) failed 5 times", status.FailureDetails!.ErrorMessage);
        Assert.DoesNotContain(OrchestrationRuntimeStatus.Running, (await host.Client.QueryAsync()).Select(s => s.RuntimeStatus));
    }
}
