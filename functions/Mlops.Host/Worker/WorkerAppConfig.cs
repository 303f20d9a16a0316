using System.Text.Json;

namespace Mlops.Host.Worker;

/// <summary>
/// The app's worker.config.json as the Functions host reads it: which executable to run (defaultExecutablePath,
/// "dotnet" for the isolated worker), which file it runs (defaultWorkerPath, the app's dll) and extra arguments.
/// </summary>
public sealed record WorkerAppConfig(
    string AppDirectory,
    string ExecutablePath,
    string? WorkerPath,
    IReadOnlyList<string> Arguments,
    bool WorkerIndexing
)
{
    /// <summary>The file name the Functions host looks for in the app folder.</summary>
    public const string FileName = "worker.config.json";

    /// <summary>Reads worker.config.json from <paramref name="appDirectory"/>; a clear error when the folder is no
    /// worker build.</summary>
    public static WorkerAppConfig Read(string appDirectory)
    {
        string path = Path.Combine(appDirectory, FileName);
        if (!File.Exists(path))
            throw new InvalidOperationException(
                $"{path} not found: --app must name an isolated-worker build output (dotnet build writes worker.config.json)."
            );
        using var doc = JsonDocument.Parse(
            File.ReadAllText(path),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }
        );
        if (!doc.RootElement.TryGetProperty("description", out var description))
            throw new InvalidOperationException($"{path} has no \"description\" section.");
        string executable = Text(description, "defaultExecutablePath") ?? "dotnet";
        string? worker = Text(description, "defaultWorkerPath");
        var arguments =
            description.TryGetProperty("arguments", out var args) && args.ValueKind == JsonValueKind.Array
                ? args.EnumerateArray().Select(a => a.GetString()).OfType<string>().ToList()
                : [];
        bool indexing = Text(description, "workerIndexing") is { } i && bool.TryParse(i, out bool b) && b;
        if (worker is not null && !Path.IsPathRooted(worker))
            worker = Path.Combine(appDirectory, worker);
        if (worker is not null && !File.Exists(worker))
            throw new InvalidOperationException(
                $"The worker {worker} named by {path} does not exist: build the app first."
            );
        // "dotnet" means the dotnet that runs this host, so the worker starts on the same runtime even off PATH.
        if (
            executable == "dotnet"
            && Environment.ProcessPath is { } self
            && Path.GetFileNameWithoutExtension(self) == "dotnet"
        )
            executable = self;
        return new WorkerAppConfig(appDirectory, executable, worker, arguments, indexing);
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : v.ToString()
            : null;
}
