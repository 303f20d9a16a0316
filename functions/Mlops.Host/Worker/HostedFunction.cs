using Mlops.Host.Protocol;

namespace Mlops.Host.Worker;

/// <summary>
/// A function as the worker indexed it (worker indexing: FunctionMetadataResponse) and the host loaded it. The
/// trigger is the one binding whose type ends in "Trigger"; every other binding is an input or output the host
/// supplies or receives.
/// </summary>
public sealed record HostedFunction(string FunctionId, string Name, RpcFunctionMetadata Metadata)
{
    /// <summary>The trigger binding's name (the parameter name) and info.</summary>
    public KeyValuePair<string, BindingInfo> Trigger =>
        Metadata.Bindings.First(b => b.Value.Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase));

    /// <summary>The trigger's type, e.g. httpTrigger, blobTrigger, timerTrigger, orchestrationTrigger,
    /// activityTrigger.</summary>
    public string TriggerType => Trigger.Value.Type;

    /// <summary>The trigger's raw binding JSON (from raw_bindings), for properties the BindingInfo does not carry
    /// (route, methods, path, schedule, source, authLevel).</summary>
    public System.Text.Json.JsonElement TriggerJson =>
        Metadata
            .RawBindings.Select(r => System.Text.Json.JsonDocument.Parse(r).RootElement)
            .First(e =>
                e.TryGetProperty("type", out var t)
                && t.GetString()!.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase)
            );
}
