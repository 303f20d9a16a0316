using System.Text.Json;
using DurableTask.Core;
using DurableTask.Core.History;
using Mlops.Host.Durable;
using Mlops.Host.Protocol;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests.Durable;

/// <summary>host.json mapping and the wire shapes between the host and the worker, without a worker.</summary>
public sealed class DurableUnitTests
{
    [Fact]
    public void FromHostJson_RepositoryHostJson_MapsEveryDurableSetting()
    {
        var hostJson = JsonDocument
            .Parse(File.ReadAllText(Path.Combine(AzuriteInstance.RepoRoot(), "host.json")))
            .RootElement;

        var options = DurableHubOptions.FromHostJson(hostJson);

        Assert.Equal("mlops", options.HubName);
        Assert.Equal(4, options.PartitionCount);
        Assert.Equal(TimeSpan.FromSeconds(1), options.MaxQueuePollingInterval);
        Assert.Equal(TimeSpan.FromSeconds(20), options.ControlQueueVisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), options.WorkItemQueueVisibilityTimeout);
        Assert.Equal(32, options.ControlQueueBatchSize);
        Assert.Equal(8, options.MaxConcurrentActivityFunctions);
        Assert.Equal(16, options.MaxConcurrentOrchestratorFunctions);
        Assert.False(options.ExtendedSessionsEnabled);
    }

    [Fact]
    public void FromHostJson_NoDurableSection_ExtensionDefaults()
    {
        var options = DurableHubOptions.FromHostJson(JsonDocument.Parse("""{"version":"2.0"}""").RootElement);

        Assert.Equal("TestHubName", options.HubName);
        Assert.Equal(4, options.PartitionCount);
        Assert.Equal(TimeSpan.FromMinutes(5), options.ControlQueueVisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxQueuePollingInterval);
        Assert.Equal(10 * Environment.ProcessorCount, options.MaxConcurrentActivityFunctions);
        Assert.Equal(4 * 1024 * 1024, options.MaxGrpcMessageSizeInBytes);
    }

    [Fact]
    public void FromHostJson_OverrideGiven_ReplacesHubNameOnly()
    {
        var hostJson = JsonDocument
            .Parse("""{"extensions":{"durableTask":{"hubName":"fromjson","extendedSessionsEnabled":true}}}""")
            .RootElement;

        var options = DurableHubOptions.FromHostJson(hostJson, "fromenv");

        Assert.Equal("fromenv", options.HubName);
        Assert.True(options.ExtendedSessionsEnabled);
    }

    [Theory]
    [InlineData("""{"hubName":"no-dashes"}""", "hubName")]
    [InlineData("""{"storageProvider":{"partitionCount":40}}""", "partitionCount")]
    [InlineData("""{"storageProvider":{"controlQueueVisibilityTimeout":"soon"}}""", "controlQueueVisibilityTimeout")]
    [InlineData("""{"maxConcurrentActivityFunctions":"many"}""", "maxConcurrentActivityFunctions")]
    public void FromHostJson_BadValue_ThrowsNamingTheSetting(string durableSection, string setting)
    {
        var hostJson = JsonDocument.Parse("""{"extensions":{"durableTask":""" + durableSection + "}}").RootElement;

        var e = Assert.Throws<DurableConfigurationException>(() => DurableHubOptions.FromHostJson(hostJson));

        Assert.Contains(setting, e.Message);
    }

    [Theory]
    [InlineData("""[{"Index":1,"DelayMs":0}]""", """{"Index":1,"DelayMs":0}""")]
    [InlineData("""["job-7"]""", "\"job-7\"")]
    [InlineData("[42]", "42")]
    [InlineData("[null]", null)]
    [InlineData(null, null)]
    public void UnwrapActivityInput_ScheduledArray_TheElementsJson(string? scheduled, string? expected) =>
        Assert.Equal(expected, WorkerPayloads.UnwrapActivityInput(scheduled));

    [Fact]
    public void UnwrapActivityInput_TwoElements_ThrowsExplaining()
    {
        var e = Assert.Throws<ArgumentException>(() => WorkerPayloads.UnwrapActivityInput("[1,2]"));
        Assert.Contains("one element", e.Message);
    }

    [Fact]
    public void ActivityOutput_ReturnValueKinds_StoredAsJson()
    {
        Assert.Equal("\"Hello\"", WorkerPayloads.ActivityOutput(Returning(new TypedData { String = "Hello" })));
        Assert.Equal("""{"a":1}""", WorkerPayloads.ActivityOutput(Returning(new TypedData { Json = """{"a":1}""" })));
        Assert.Equal("7", WorkerPayloads.ActivityOutput(Returning(new TypedData { Int = 7 })));
        Assert.Null(WorkerPayloads.ActivityOutput(new InvocationResponse()));
    }

    [Fact]
    public void FailureFrom_WorkerSerializedFailure_UsersTypeMessageAndInner()
    {
        var exception = new RpcException
        {
            Type = "Microsoft.Azure.Functions.Worker.Extensions.DurableTask.Exceptions.DurableSerializationException",
            Message =
                """{ "errorType": "System.InvalidOperationException", "errorMessage": "step failed", "stackTrace": "at X", """
                + """ "innerFailure": { "errorType": "System.IO.IOException", "errorMessage": "disk" } }""",
        };

        var failure = WorkerPayloads.FailureFrom(exception, "Step");

        Assert.Equal("System.InvalidOperationException", failure.ErrorType);
        Assert.Equal("step failed", failure.ErrorMessage);
        Assert.Equal("at X", failure.StackTrace);
        Assert.Equal("System.IO.IOException", failure.InnerFailure?.ErrorType);
    }

    [Fact]
    public void FailureFrom_PlainDotNetMessage_TypePrefixAndStackSplitOff()
    {
        var exception = new RpcException { Message = "System.ArgumentException: bad input\n   at Foo.Bar()" };

        var failure = WorkerPayloads.FailureFrom(exception, "Step");

        Assert.Equal("System.ArgumentException", failure.ErrorType);
        Assert.Equal("bad input", failure.ErrorMessage);
        Assert.Contains("Foo.Bar", failure.StackTrace);
    }

    [Fact]
    public void PastEventsOf_SecondEpisodeOfAnExtendedSession_HoldsTheFirstEpisodesEvents()
    {
        var state = SessionAfterOneEpisode();

        var past = WorkerPayloads.PastEventsOf(state).ToList();

        // DTFx's own PastEvents lost the first episode's events when it cleared NewEvents: sending it made the worker
        // replay holes.
        Assert.Equal(2, state.PastEvents.Count);
        Assert.Equal(
            new[]
            {
                EventType.OrchestratorStarted,
                EventType.ExecutionStarted,
                EventType.OrchestratorStarted,
                EventType.TaskScheduled,
            },
            past.Select(e => e.EventType)
        );
    }

    [Fact]
    public void OrchestratorTrigger_ResumedExtendedSession_SendsOnlyNewEventsAndTheSessionProperties()
    {
        var state = SessionAfterOneEpisode();

        var idle = TimeSpan.FromSeconds(30);
        var resumed = Decode(
            WorkerPayloads.OrchestratorTrigger(state, new ExtendedSessionRequest(true, IncludeState: false, idle))
        );
        var first = Decode(
            WorkerPayloads.OrchestratorTrigger(state, new ExtendedSessionRequest(true, IncludeState: true, idle))
        );
        var plain = Decode(WorkerPayloads.OrchestratorTrigger(state));

        Assert.Empty(resumed.PastEvents);
        Assert.Equal(2, resumed.NewEvents.Count);
        Assert.False(resumed.Properties["IncludeState"].BoolValue);
        Assert.True(resumed.Properties["IsExtendedSession"].BoolValue);
        Assert.Equal(30, resumed.Properties["ExtendedSessionIdleTimeoutInSeconds"].NumberValue);
        Assert.Equal(4, first.PastEvents.Count);
        Assert.True(first.Properties["IncludeState"].BoolValue);
        Assert.Equal(4, plain.PastEvents.Count);
        Assert.Empty(plain.Properties); // no session: the worker replays and caches nothing
    }

    [Fact]
    public void RequiresHistory_WorkerLostItsSession_True()
    {
        var answer = new Microsoft.DurableTask.Protobuf.OrchestratorResponse
        {
            InstanceId = "i",
            RequiresHistory = true,
        };
        var normal = new Microsoft.DurableTask.Protobuf.OrchestratorResponse { InstanceId = "i" };

        static TypedData Encoded(Google.Protobuf.IMessage message) =>
            new() { String = Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(message)) };

        Assert.True(WorkerPayloads.RequiresHistory(Returning(Encoded(answer))));
        Assert.False(WorkerPayloads.RequiresHistory(Returning(Encoded(normal))));
        Assert.False(WorkerPayloads.RequiresHistory(Returning(new TypedData { String = "not base64!" })));
    }

    /// <summary>
    /// An instance loaded from storage (started), one episode run in the session (scheduled a task), then DTFx's
    /// preparation of the next batch: NewEvents cleared, the new messages added.
    /// </summary>
    private static OrchestrationRuntimeState SessionAfterOneEpisode()
    {
        var instance = new OrchestrationInstance { InstanceId = "i1", ExecutionId = "e1" };
        var state = new OrchestrationRuntimeState([
            new OrchestratorStartedEvent(-1),
            new ExecutionStartedEvent(-1, "\"in\"") { Name = "Chain", OrchestrationInstance = instance },
        ]);
        state.AddEvent(new OrchestratorStartedEvent(-1));
        state.AddEvent(new TaskScheduledEvent(0, "Step", null, "[1]"));
        state.NewEvents.Clear();
        state.AddEvent(new OrchestratorStartedEvent(-1));
        state.AddEvent(new TaskCompletedEvent(-1, 0, "1"));
        return state;
    }

    private static Microsoft.DurableTask.Protobuf.OrchestratorRequest Decode(TypedData data) =>
        Microsoft.DurableTask.Protobuf.OrchestratorRequest.Parser.ParseFrom(Convert.FromBase64String(data.String));

    private static InvocationResponse Returning(TypedData value) =>
        new()
        {
            ReturnValue = value,
            Result = new StatusResult { Status = StatusResult.Types.Status.Success },
        };
}
