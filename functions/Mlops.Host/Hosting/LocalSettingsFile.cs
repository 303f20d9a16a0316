using System.Text.Json;

namespace Mlops.Host.Hosting;

/// <summary>
/// The app's <c>local.settings.json</c> "Values", applied the way Core Tools' <c>func start</c> applies them: as app
/// settings of the worker (and of the triggers' <c>%NAME%</c> and <c>AzureWebJobs.{Function}.Disabled</c> look-ups),
/// where the process environment does not already set the name. <c>AzureWebJobsStorage</c> is left out: this host
/// chooses the storage account itself (the Azurite it started, or the one it was given).
/// </summary>
public static class LocalSettingsFile
{
    /// <summary>The file's name in the app's build output (the app copies it there).</summary>
    public const string FileName = "local.settings.json";

    /// <summary>The values to give the worker; empty when the file is absent.</summary>
    /// <exception cref="InvalidOperationException">The file is not the JSON Core Tools reads.</exception>
    public static IReadOnlyDictionary<string, string> Read(
        string appDirectory,
        Func<string, string?>? environment = null
    )
    {
        environment ??= Environment.GetEnvironmentVariable;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string path = Path.Combine(appDirectory, FileName);
        if (!File.Exists(path))
            return result;
        try
        {
            using var doc = JsonDocument.Parse(
                File.ReadAllBytes(path),
                new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }
            );
            if (!doc.RootElement.TryGetProperty("Values", out var values) || values.ValueKind != JsonValueKind.Object)
                return result;
            foreach (var setting in values.EnumerateObject())
            {
                if (setting.Name == "AzureWebJobsStorage" || environment(setting.Name) is not null)
                    continue;
                result[setting.Name] =
                    setting.Value.ValueKind == JsonValueKind.String
                        ? setting.Value.GetString()!
                        : setting.Value.GetRawText();
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{path} is not valid JSON: {e.Message}", e);
        }
    }
}
