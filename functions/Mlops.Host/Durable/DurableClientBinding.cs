using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;

namespace Mlops.Host.Durable;

/// <summary>
/// Supplies the value of <c>[DurableClient]</c> bindings: the JSON the Durable extension's BindingHelper writes for
/// the out-of-process protocol and the worker's DurableTaskClientConverter reads (Worker.Extensions.DurableTask
/// 1.21.1: a case-sensitive camelCase record). <c>maxGrpcMessageSizeInBytes</c> must be present (missing, it binds as
/// 0 and every call fails with ResourceExhausted); <c>grpcHttpClientTimeout</c> is a JSON-serialized TimeSpan inside
/// a string, as the converter deserializes it a second time.
/// </summary>
public sealed class DurableClientBinding(DurableTaskHub hub, DurableClientEndpoint endpoint, IServiceProvider services)
    : IInputBindingProvider
{
    /// <summary>The binding type of <c>[DurableClient]</c> parameters.</summary>
    public const string BindingType = "durableClient";

    /// <inheritdoc />
    public bool CanBind(BindingInfo binding) =>
        string.Equals(binding.Type, BindingType, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public TypedData Bind(HostedFunction function, string bindingName, BindingInfo binding)
    {
        // The endpoint starts with the host, long before the first invocation; the wait only matters in a race at
        // start.
        if (!endpoint.Address.Wait(TimeSpan.FromSeconds(30)))
            throw new InvalidOperationException(
                "The Durable client endpoint did not start within 30 s; the DurableClient binding has no address."
            );
        var raw = RawBinding(function, bindingName);
        string taskHub = Property(raw, "taskHub") ?? hub.Options.HubName;
        string connection = Property(raw, "connectionName") ?? "";
        var payload = new
        {
            taskHubName = taskHub,
            connectionName = connection,
            rpcBaseUrl = endpoint.Address.Result.ToString(),
            // The extension adds "&code=<durabletask system key>"; this host serves no management webhook, so no key.
            requiredQueryStringParameters = $"taskHub={Uri.EscapeDataString(taskHub)}&connection=Storage",
            httpBaseUrl = HttpBaseUrl(),
            maxGrpcMessageSizeInBytes = hub.Options.MaxGrpcMessageSizeInBytes,
            grpcHttpClientTimeout = JsonSerializer.Serialize(hub.Options.GrpcHttpClientTimeout),
        };
        return new TypedData { String = JsonSerializer.Serialize(payload) };
    }

    private string HttpBaseUrl()
    {
        // The host's own HTTP front, for the management URLs the worker's client builds (CreateCheckStatusResponse).
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        string? first = addresses?.FirstOrDefault();
        return first is null ? "" : first.TrimEnd('/') + "/runtime/webhooks/durabletask";
    }

    private static JsonElement RawBinding(HostedFunction function, string bindingName)
    {
        foreach (string text in function.Metadata.RawBindings)
        {
            using var document = JsonDocument.Parse(text);
            if (
                document.RootElement.TryGetProperty("name", out var name)
                && string.Equals(name.GetString(), bindingName, StringComparison.OrdinalIgnoreCase)
            )
                return document.RootElement.Clone();
        }
        return default;
    }

    private static string? Property(JsonElement binding, string name)
    {
        if (binding.ValueKind != JsonValueKind.Object)
            return null;
        foreach (var property in binding.EnumerateObject())
            if (
                string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase)
                && property.Value.ValueKind == JsonValueKind.String
                && !string.IsNullOrWhiteSpace(property.Value.GetString())
            )
                return property.Value.GetString();
        return null;
    }
}
