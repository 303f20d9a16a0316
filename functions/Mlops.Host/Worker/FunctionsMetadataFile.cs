using System.Text.Json;
using Mlops.Host.Protocol;

namespace Mlops.Host.Worker;

/// <summary>
/// Reads the build's functions.metadata when the worker answers the metadata request with
/// use_default_metadata_indexing (the host then indexes from the file, as for apps built without worker indexing).
/// </summary>
internal static class FunctionsMetadataFile
{
    public static List<RpcFunctionMetadata> Read(string appDirectory)
    {
        string path = Path.Combine(appDirectory, "functions.metadata");
        if (!File.Exists(path))
            throw new InvalidOperationException($"The worker asked for default indexing but {path} does not exist.");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var result = new List<RpcFunctionMetadata>();
        foreach (var f in doc.RootElement.EnumerateArray())
        {
            var metadata = new RpcFunctionMetadata
            {
                Name = f.GetProperty("name").GetString()!,
                ScriptFile = f.TryGetProperty("scriptFile", out var s) ? s.GetString() ?? "" : "",
                EntryPoint = f.TryGetProperty("entryPoint", out var e) ? e.GetString() ?? "" : "",
                Language = f.TryGetProperty("language", out var l) ? l.GetString() ?? "" : "",
                Directory = appDirectory,
                FunctionId = Guid.NewGuid().ToString(),
            };
            foreach (var b in f.GetProperty("bindings").EnumerateArray())
            {
                metadata.RawBindings.Add(b.GetRawText());
                string direction = b.TryGetProperty("direction", out var d) ? d.GetString() ?? "In" : "In";
                metadata.Bindings[b.GetProperty("name").GetString()!] = new BindingInfo
                {
                    Type = b.GetProperty("type").GetString()!,
                    Direction =
                        direction.Equals("Out", StringComparison.OrdinalIgnoreCase) ? BindingInfo.Types.Direction.Out
                        : direction.Equals("InOut", StringComparison.OrdinalIgnoreCase)
                            ? BindingInfo.Types.Direction.Inout
                        : BindingInfo.Types.Direction.In,
                };
            }
            result.Add(metadata);
        }
        return result;
    }
}
