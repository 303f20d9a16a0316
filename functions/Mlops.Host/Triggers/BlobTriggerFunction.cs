using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs.Models;
using Google.Protobuf;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;

namespace Mlops.Host.Triggers;

/// <summary>
/// A <c>blobTrigger</c> function as this host runs it: its path pattern, the connection it names and how the trigger
/// parameter is bound. Built once at start-up from the worker's metadata; a bad binding is a clear error naming the
/// function.
/// </summary>
public sealed class BlobTriggerFunction
{
    /// <summary>The source the Blobs extension names in ModelBindingData (Worker.Extensions.Storage.Blobs 6.8.2
    /// Constants).</summary>
    public const string ModelBindingSource = "AzureStorageBlobs";

    private BlobTriggerFunction(
        HostedFunction function,
        BlobPathPattern path,
        string connectionName,
        string connectionString,
        string bindingName,
        bool deferred,
        BindingInfo.Types.DataType dataType,
        string source
    )
    {
        Function = function;
        Path = path;
        ConnectionName = connectionName;
        ConnectionString = connectionString;
        BindingName = bindingName;
        SupportsDeferredBinding = deferred;
        DataType = dataType;
        Source = source;
    }

    /// <summary>The function as the worker indexed it.</summary>
    public HostedFunction Function { get; }

    /// <summary>The id the real host gives a script function (<c>Host.Functions.{Name}</c>); blob trigger messages
    /// carry it.</summary>
    public string FunctionId => HostFunctionId(Function.Name);

    /// <summary>The resolved path pattern.</summary>
    public BlobPathPattern Path { get; }

    /// <summary>The connection name passed to the worker (the binding's <c>connection</c>, resolved;
    /// <c>AzureWebJobsStorage</c> when empty).</summary>
    public string ConnectionName { get; }

    /// <summary>The connection string of the account the blobs live in.</summary>
    public string ConnectionString { get; }

    /// <summary>The trigger parameter's name.</summary>
    public string BindingName { get; }

    /// <summary>True when the worker binds the parameter itself from ModelBindingData (BlobClient, streams,
    /// ...).</summary>
    public bool SupportsDeferredBinding { get; }

    /// <summary>The binding's data type, used when the host sends the blob's content itself.</summary>
    public BindingInfo.Types.DataType DataType { get; }

    /// <summary>The trigger source from the binding (<c>EventGrid</c> or <c>LogsAndContainerScan</c>).</summary>
    public string Source { get; }

    /// <summary>The real host's function id for a script function.</summary>
    public static string HostFunctionId(string functionName) => $"Host.Functions.{functionName}";

    /// <summary>Reads a blobTrigger function's binding; throws <see cref="InvalidOperationException"/> naming the
    /// function when it is unusable.</summary>
    public static BlobTriggerFunction Create(HostedFunction function, AppSettings settings)
    {
        var trigger = function.Trigger;
        var raw = function.TriggerJson;
        try
        {
            string path =
                raw.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
            var pattern = BlobPathPattern.Parse(settings.ResolveWholeString(path));
            string? connection =
                raw.TryGetProperty("connection", out var c) && c.ValueKind == JsonValueKind.String
                    ? c.GetString()
                    : null;
            string connectionName = string.IsNullOrWhiteSpace(connection)
                ? "AzureWebJobsStorage"
                : settings.ResolveWholeString(connection);
            string connectionString = settings.GetConnectionString(connectionName);
            string source =
                raw.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.String
                    ? s.GetString()!
                    : "LogsAndContainerScan";
            // Worker indexing puts the flag in the raw binding's "properties"; BindingInfo.properties may not carry it.
            bool deferred =
                (
                    trigger.Value.Properties.TryGetValue("supportsDeferredBinding", out var flag)
                    && flag.Equals("true", StringComparison.OrdinalIgnoreCase)
                )
                || (
                    raw.TryGetProperty("properties", out var props)
                    && props.ValueKind == JsonValueKind.Object
                    && props.TryGetProperty("supportsDeferredBinding", out var rawFlag)
                    && (
                        rawFlag.ValueKind == JsonValueKind.True
                        || (
                            rawFlag.ValueKind == JsonValueKind.String
                            && rawFlag.GetString()!.Equals("true", StringComparison.OrdinalIgnoreCase)
                        )
                    )
                );
            return new BlobTriggerFunction(
                function,
                pattern,
                connectionName,
                connectionString,
                trigger.Key,
                deferred,
                trigger.Value.DataType,
                source
            );
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new InvalidOperationException(
                $"Blob trigger of function '{function.Name}' cannot run: {e.Message}",
                e
            );
        }
    }

    /// <summary>
    /// The invocation the real host sends for one blob: the trigger parameter (ModelBindingData <c>{Connection,
    /// ContainerName, BlobName}</c> as JSON, source AzureStorageBlobs, for deferred binding; else the content) and the
    /// Blobs extension's binding data as trigger metadata (BlobTriggerBinding.CreateBindingData: BlobTrigger, Uri,
    /// Properties, Metadata, and one value per path parameter, which wins over a built-in name).
    /// </summary>
    public InvocationRequest CreateInvocation(
        string container,
        string blobName,
        Uri blobUri,
        BlobProperties properties,
        IReadOnlyDictionary<string, string> pathValues,
        byte[]? content = null
    )
    {
        var request = new InvocationRequest
        {
            FunctionId = Function.FunctionId,
            InvocationId = Guid.NewGuid().ToString(),
            TraceContext = TriggerServices.NewTraceContext(),
        };
        request.InputData.Add(
            new ParameterBinding { Name = BindingName, Data = TriggerValue(container, blobName, content) }
        );
        request.TriggerMetadata["BlobTrigger"] = new TypedData { String = $"{container}/{blobName}" };
        request.TriggerMetadata["Uri"] = new TypedData { Json = JsonSerializer.Serialize(blobUri.AbsoluteUri) };
        request.TriggerMetadata["Properties"] = new TypedData { Json = PropertiesJson(properties).ToJsonString() };
        var metadata = new JsonObject();
        foreach (var (key, value) in properties.Metadata ?? new Dictionary<string, string>())
            metadata[key] = value;
        request.TriggerMetadata["Metadata"] = new TypedData { Json = metadata.ToJsonString() };
        foreach (var (name, value) in pathValues)
        {
            // Binding data is case-insensitive in the host: a path value replaces a built-in entry of the same name.
            foreach (
                string existing in request
                    .TriggerMetadata.Keys.Where(k => k.Equals(name, StringComparison.OrdinalIgnoreCase))
                    .ToList()
            )
                request.TriggerMetadata.Remove(existing);
            request.TriggerMetadata[name] = new TypedData { String = value };
        }
        return request;
    }

    /// <summary>Whether <see cref="CreateInvocation"/> needs the blob's content (the worker does not read it
    /// itself).</summary>
    public bool NeedsContent => !SupportsDeferredBinding;

    private TypedData TriggerValue(string container, string blobName, byte[]? content)
    {
        if (SupportsDeferredBinding)
        {
            string json = JsonSerializer.Serialize(
                new
                {
                    Connection = ConnectionName,
                    ContainerName = container,
                    BlobName = blobName,
                }
            );
            return new TypedData
            {
                ModelBindingData = new ModelBindingData
                {
                    Version = "1.0",
                    Source = ModelBindingSource,
                    ContentType = "application/json",
                    Content = ByteString.CopyFromUtf8(json),
                },
            };
        }
        byte[] bytes = content ?? [];
        return DataType == BindingInfo.Types.DataType.String
            ? new TypedData { String = Encoding.UTF8.GetString(bytes) }
            : new TypedData { Bytes = ByteString.CopyFrom(bytes) };
    }

    // The host serializes BlobProperties with Newtonsoft (PascalCase names, enums as numbers); we send the commonly
    // read subset with the same names and value shapes.
    private static JsonObject PropertiesJson(BlobProperties p) =>
        new()
        {
            ["LastModified"] = p.LastModified.ToString("o"),
            ["CreatedOn"] = p.CreatedOn.ToString("o"),
            ["BlobType"] = (int)p.BlobType,
            ["ContentLength"] = p.ContentLength,
            ["ContentType"] = p.ContentType,
            ["ContentEncoding"] = p.ContentEncoding,
            ["ContentLanguage"] = p.ContentLanguage,
            ["ContentDisposition"] = p.ContentDisposition,
            ["CacheControl"] = p.CacheControl,
            ["ContentHash"] = p.ContentHash is { Length: > 0 } hash ? Convert.ToBase64String(hash) : null,
            ["VersionId"] = p.VersionId,
            ["IsLatestVersion"] = p.IsLatestVersion,
        };
}
