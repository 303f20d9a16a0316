using System.Reflection;
using System.Runtime.InteropServices;

namespace Mlops.Registry;

/// <summary>Facts about the running process recorded in lineage: code version, package versions.</summary>
public static class EnvironmentInfo
{
    /// <summary>Environment variable that names the code version (CI sets it to the commit or build id).</summary>
    public const string CodeVersionVariable = "MLOPS_CODE_VERSION";

    /// <summary>
    /// The code version: <c>MLOPS_CODE_VERSION</c> when set (deployments rarely ship a .git folder), otherwise the git
    /// commit stamped into this assembly at build time, otherwise null.
    /// </summary>
    public static string? CodeVersion()
    {
        string? env = Environment.GetEnvironmentVariable(CodeVersionVariable);
        if (!string.IsNullOrWhiteSpace(env))
            return env.Trim();
        return
            typeof(EnvironmentInfo)
                .Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "GitCommit")
                ?.Value?.Trim()
                is { Length: > 0 } commit
            ? commit
            : null;
    }

    /// <summary>The .NET runtime and the versions of the loaded <c>Mlops.*</c> assemblies.</summary>
    public static Dictionary<string, string> PackageVersions()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [".NET"] = RuntimeInformation.FrameworkDescription,
        };
        foreach (var asm in AppDomain.CurrentDomain.GetAssemblies())
        {
            var name = asm.GetName();
            if (
                name.Name is null
                || !name.Name.StartsWith("Mlops.", StringComparison.Ordinal)
                || name.Name.EndsWith(".Tests", StringComparison.Ordinal)
            )
                continue;
            result[name.Name] = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? name.Version?.ToString()
                ?? "?";
        }
        return result;
    }
}
