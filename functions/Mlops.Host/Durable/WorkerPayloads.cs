using System.Text;
using System.Text.Json;
using DurableTask.Core;
using DurableTask.Core.Command;
using DurableTask.Core.History;
using Google.Protobuf;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Mlops.Host.Protocol;
using P = Microsoft.DurableTask.Protobuf;
using ProtoValue = Google.Protobuf.WellKnownTypes.Value;

namespace Mlops.Host.Durable;

/// <summary>
/// The shapes the Durable extension's out-of-process ("middleware passthrough") protocol puts on the wire between the
/// host and the isolated worker, checked against Azure/azure-functions-durable-extension (OutOfProcMiddleware,
/// OrchestrationTriggerAttributeBindingProvider, DurableActivityContext; WebJobs extension 2.x–3.x) and observed with
/// Worker.Extensions.DurableTask 1.21.1.
/// </summary>
public static class WorkerPayloads
{
    /// <summary>
    /// The orchestrator trigger value: a base64 protobuf <c>OrchestratorRequest</c> with the instance's past and new
    /// history. Without an extended session the worker keeps no state between invocations and replays the whole
    /// history.
    /// </summary>
    public static TypedData OrchestratorTrigger(OrchestrationRuntimeState state) =>
        OrchestratorTrigger(state, session: null);

    /// <summary>
    /// The orchestrator trigger value inside a DTFx extended session, as the Durable extension sends it to isolated
    /// workers since extension PR 3154 / DTFx PR 1232 (2025-07): request properties <c>IsExtendedSession</c>,
    /// <c>ExtendedSessionIdleTimeoutInSeconds</c> and <c>IncludeState</c>; when DTFx says the state need not be
    /// included (a resumed episode) only the new events go, and the worker runs them on the orchestration it cached.
    /// </summary>
    public static TypedData OrchestratorTrigger(OrchestrationRuntimeState state, ExtendedSessionRequest? session)
    {
        var request = new P.OrchestratorRequest
        {
            InstanceId = state.OrchestrationInstance?.InstanceId ?? "",
            ExecutionId = state.OrchestrationInstance?.ExecutionId ?? "",
        };
        if (session is null || session.IncludeState)
            request.PastEvents.AddRange(PastEventsOf(state).Select(ProtobufUtils.ToHistoryEventProto));
        request.NewEvents.AddRange(state.NewEvents.Select(ProtobufUtils.ToHistoryEventProto));
        if (session is not null)
        {
            request.Properties["IsExtendedSession"] = ProtoValue.ForBool(session.IsExtendedSession);
            request.Properties["ExtendedSessionIdleTimeoutInSeconds"] = ProtoValue.ForNumber(
                session.IdleTimeout.TotalSeconds
            );
            request.Properties["IncludeState"] = ProtoValue.ForBool(session.IncludeState);
        }
        return new TypedData { String = Convert.ToBase64String(request.ToByteArray()) };
    }

    /// <summary>
    /// Every event before this episode's new ones. DTFx's <c>PastEvents</c> holds only what was loaded from storage: in
    /// an extended session the events of the session's earlier episodes are in <c>Events</c> but, once DTFx clears
    /// <c>NewEvents</c> for the next batch, in neither list (sending <c>PastEvents</c> lost them: the worker then
    /// replayed a history with holes, which is why extended sessions once failed here). New events are always
    /// <c>Events</c>' tail.
    /// </summary>
    public static IEnumerable<HistoryEvent> PastEventsOf(OrchestrationRuntimeState state)
    {
        int past = state.Events.Count - state.NewEvents.Count;
        return past >= state.PastEvents.Count ? state.Events.Take(past) : state.PastEvents;
    }

    /// <summary>True when the worker answered that it needs the history (its cached session is gone, e.g. it
    /// restarted).</summary>
    public static bool RequiresHistory(InvocationResponse response)
    {
        string? encoded = ReturnText(response);
        if (string.IsNullOrEmpty(encoded))
            return false;
        try
        {
            return P.OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded)).RequiresHistory;
        }
        catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads the orchestrator's answer: the invocation's return value is a base64 protobuf <c>OrchestratorResponse</c>
    /// (actions and custom status). Throws <see cref="InvalidDataException"/> when the worker answered anything else.
    /// </summary>
    public static OrchestratorExecutionResult OrchestratorResult(InvocationResponse response)
    {
        string? encoded = ReturnText(response);
        if (string.IsNullOrEmpty(encoded))
            throw new InvalidDataException(
                "The orchestrator invocation returned no OrchestratorResponse (empty return value)."
            );
        P.OrchestratorResponse parsed;
        try
        {
            parsed = P.OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded));
        }
        catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
        {
            throw new InvalidDataException(
                $"The orchestrator invocation returned a value that is not a base64 OrchestratorResponse: {e.Message}",
                e
            );
        }
        return new OrchestratorExecutionResult
        {
            Actions = parsed.Actions.Select(ProtobufUtils.ToOrchestratorAction).ToList(),
            CustomStatus = parsed.CustomStatus,
        };
    }

    /// <summary>
    /// The activity trigger value. DTFx's orchestration context (which the worker's durabletask-dotnet shim schedules
    /// through) wraps the input in a one-element JSON array; the extension unwraps it before binding, so the worker's
    /// converter sees the element's JSON. We keep the element's original text (the extension re-serializes it with
    /// Newtonsoft, which can only differ in whitespace and number formatting). Null input stays null.
    /// </summary>
    public static TypedData ActivityTrigger(string? scheduledInput)
    {
        string? unwrapped = UnwrapActivityInput(scheduledInput);
        return unwrapped is null ? new TypedData() : new TypedData { String = unwrapped };
    }

    /// <summary>The JSON of the single element of a scheduled activity input (null for no input).</summary>
    public static string? UnwrapActivityInput(string? scheduledInput)
    {
        if (string.IsNullOrWhiteSpace(scheduledInput))
            return null;
        using var document = JsonDocument.Parse(scheduledInput);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            return scheduledInput; // scheduled by a client that does not wrap
        if (root.GetArrayLength() != 1)
            throw new ArgumentException(
                $"The serialized activity input is expected to be a JSON array with one element, not {root.GetArrayLength()}."
            );
        var element = root[0];
        return element.ValueKind == JsonValueKind.Null ? null : element.GetRawText();
    }

    /// <summary>
    /// The activity's serialized output, as the extension stores it: JSON return values as they are, strings and
    /// numbers serialized to JSON, no return value as null.
    /// </summary>
    public static string? ActivityOutput(InvocationResponse response)
    {
        var value = response.ReturnValue ?? response.OutputData.FirstOrDefault(b => b.Name == "$return")?.Data;
        if (value is null)
            return null;
        return value.DataCase switch
        {
            TypedData.DataOneofCase.None => null,
            TypedData.DataOneofCase.Json => value.Json,
            TypedData.DataOneofCase.String => JsonSerializer.Serialize(value.String),
            TypedData.DataOneofCase.Int => value.Int.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TypedData.DataOneofCase.Double => JsonSerializer.Serialize(value.Double),
            TypedData.DataOneofCase.Bytes => JsonSerializer.Serialize(value.Bytes.ToBase64()),
            TypedData.DataOneofCase.Stream => JsonSerializer.Serialize(value.Stream.ToBase64()),
            _ => throw new InvalidDataException(
                $"The activity returned a {value.DataCase} value, which cannot be stored as its output."
            ),
        };
    }

    /// <summary>
    /// The failure the orchestrator sees (as <c>TaskFailedException.FailureDetails</c>) for a failed invocation. The
    /// worker reports the exception's type and a message that (for .NET) is the exception's ToString(): "Type: message"
    /// then the stack. Like the extension's OutOfProcMiddleware.GetFailureDetails we keep the type and the message's
    /// first line without the type prefix, and put the rest in the stack trace.
    /// </summary>
    public static FailureDetails FailureFrom(RpcException? exception, string functionName)
    {
        if (exception is null)
            return new FailureDetails(
                "FunctionInvocationFailed",
                $"Function '{functionName}' failed without exception details.",
                null,
                null,
                false
            );
        string message = exception.Message ?? "";
        if (FromSerializedFailure(message) is { } serialized)
            return serialized;
        string type = exception.Type ?? "";
        string firstLine = message.Split('\n', 2)[0].TrimEnd('\r');
        int colon = firstLine.IndexOf(": ", StringComparison.Ordinal);
        if (type.Length == 0 && colon > 0 && !firstLine[..colon].Contains(' '))
            type = firstLine[..colon];
        if (type.Length > 0 && firstLine.StartsWith(type + ": ", StringComparison.Ordinal))
            firstLine = firstLine[(type.Length + 2)..];
        string? stack = string.IsNullOrEmpty(exception.StackTrace)
            ? (message.Contains('\n') ? message.Split('\n', 2)[1] : null)
            : exception.StackTrace;
        return new FailureDetails(type.Length > 0 ? type : "(unknown)", firstLine, stack, null, false);
    }

    /// <summary>
    /// Worker.Extensions.DurableTask 1.x wraps an activity's exception in DurableSerializationException, whose message
    /// is the failure as protobuf JSON (<c>TaskFailureDetails</c>: errorType, errorMessage, stackTrace, innerFailure,
    /// isNonRetriable); the extension reads it back so the orchestrator sees the user's exception, not the wrapper.
    /// </summary>
    private static FailureDetails? FromSerializedFailure(string message)
    {
        if (!message.TrimStart().StartsWith('{'))
            return null;
        try
        {
            var parsed = new JsonParser(
                JsonParser.Settings.Default.WithIgnoreUnknownFields(true)
            ).Parse<P.TaskFailureDetails>(message);
            return string.IsNullOrEmpty(parsed.ErrorType) && string.IsNullOrEmpty(parsed.ErrorMessage)
                ? null
                : ToCore(parsed);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
        catch (InvalidJsonException)
        {
            return null;
        }
    }

    private static FailureDetails ToCore(P.TaskFailureDetails f) =>
        new(
            f.ErrorType,
            f.ErrorMessage,
            string.IsNullOrEmpty(f.StackTrace) ? null : f.StackTrace,
            f.InnerFailure is { } inner ? ToCore(inner) : null,
            f.IsNonRetriable
        );

    /// <summary>True when the invocation carries a return value (or a <c>$return</c> output binding).</summary>
    public static bool HasReturnValue(InvocationResponse response) => !string.IsNullOrEmpty(ReturnText(response));

    /// <summary>The return value as text whichever way the worker typed it (string, JSON string, or bytes).</summary>
    private static string? ReturnText(InvocationResponse response)
    {
        var value = response.ReturnValue ?? response.OutputData.FirstOrDefault(b => b.Name == "$return")?.Data;
        return value?.DataCase switch
        {
            TypedData.DataOneofCase.String => value.String,
            TypedData.DataOneofCase.Json => value.Json.StartsWith('"')
                ? JsonSerializer.Deserialize<string>(value.Json)
                : value.Json,
            TypedData.DataOneofCase.Bytes => Encoding.UTF8.GetString(value.Bytes.Span),
            _ => null,
        };
    }

    /// <summary>An orchestrator action list that fails the instance at once, for errors no retry can fix.</summary>
    public static OrchestratorExecutionResult FailOrchestration(string errorType, string message) =>
        new()
        {
            Actions =
            [
                new OrchestrationCompleteOrchestratorAction
                {
                    Id = -1,
                    OrchestrationStatus = OrchestrationStatus.Failed,
                    Result = $"{errorType}: {message}",
                    FailureDetails = new FailureDetails(errorType, message, null, null, true),
                },
            ],
        };

    /// <summary>The activity's TaskFailed event for a failure.</summary>
    public static ActivityExecutionResult ActivityFailed(int taskScheduledId, FailureDetails failure) =>
        new() { ResponseEvent = new TaskFailedEvent(-1, taskScheduledId, failure.ErrorMessage, null, failure) };
}

/// <summary>What DTFx says about an episode run inside an extended session (its WorkItemMetadata) and the idle
/// timeout.</summary>
/// <param name="IsExtendedSession">The episode belongs to an extended session (the worker may cache the
/// orchestration).</param>
/// <param name="IncludeState">The history must be sent (first episode of a session); false: the worker has it
/// cached.</param>
/// <param name="IdleTimeout">How long the worker keeps an idle cached orchestration (host.json
/// extendedSessionIdleTimeoutInSeconds).</param>
public sealed record ExtendedSessionRequest(bool IsExtendedSession, bool IncludeState, TimeSpan IdleTimeout);
