using System.Text.Json;
using System.Text.RegularExpressions;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.Infra;

/// <summary>
/// The deployment's wiring without an Azure subscription: the azd parameters file, azure.yaml and the Bicep modules
/// point at what exists, and host.json carries the Durable settings the app relies on. (Each Bicep file's own syntax,
/// types and lint rules are checked by infra/lint.sh with the Bicep CLI.)
/// </summary>
public sealed partial class InfraLayoutTests
{
    private static readonly string Root = AzuriteInstance.RepoRoot();
    private static readonly string Infra = Path.Combine(Root, "infra");

    [Fact]
    public void ParametersFile_NamesOnlyDeclaredParameters_AndGivesEveryRequiredOne()
    {
        var declared = BicepParameters(File.ReadAllText(Path.Combine(Infra, "main.bicep")));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Infra, "main.parameters.json")));
        var given = doc.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToList();

        Assert.NotEmpty(given);
        Assert.All(given, name => Assert.True(declared.ContainsKey(name), $"main.parameters.json sets '{name}', which main.bicep does not declare."));
        var required = declared.Where(p => !p.Value).Select(p => p.Key);
        Assert.All(required, name => Assert.True(given.Contains(name), $"main.bicep requires '{name}' but main.parameters.json does not give it."));
        Assert.All(doc.RootElement.GetProperty("parameters").EnumerateObject(), p => Assert.True(p.Value.TryGetProperty("value", out _), p.Name));
    }

    [Fact]
    public void AzureYaml_ApiServicePointsAtTheFunctionAppProject()
    {
        string yaml = File.ReadAllText(Path.Combine(Root, "azure.yaml"));
        var project = ProjectLine().Match(yaml);
        Assert.True(project.Success, "azure.yaml has no service project.");
        string folder = Path.GetFullPath(Path.Combine(Root, project.Groups[1].Value.Trim()));
        Assert.True(Directory.Exists(folder), $"azure.yaml points at {folder}, which does not exist.");
        Assert.Single(Directory.GetFiles(folder, "*.csproj"));
        Assert.Matches(@"(?m)^  api:\s*$", yaml);
        Assert.Matches(@"(?m)^\s+language:\s*dotnet\s*$", yaml);
        Assert.Matches(@"(?m)^\s+host:\s*function\s*$", yaml);
        // azd deploys the service to the resource tagged with its name.
        Assert.Contains("'azd-service-name': 'api'", File.ReadAllText(Path.Combine(Infra, "app", "functionapp.bicep")));
    }

    [Fact]
    public void EveryModulePath_Exists_AndEveryModuleIsUsed()
    {
        var bicepFiles = Directory.GetFiles(Infra, "*.bicep", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}tools{Path.DirectorySeparatorChar}")).ToList();
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in bicepFiles)
        {
            foreach (Match m in ModuleReference().Matches(File.ReadAllText(file)))
            {
                string target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, m.Groups[1].Value));
                Assert.True(File.Exists(target), $"{Path.GetRelativePath(Root, file)} references module {m.Groups[1].Value}, which does not exist.");
                referenced.Add(target);
            }
        }
        var orphans = bicepFiles.Where(f => Path.GetFileName(f) != "main.bicep" && !referenced.Contains(Path.GetFullPath(f)));
        Assert.Empty(orphans);
    }

    [Fact]
    public void Infra_IsIdentityBased_FlexConsumption_WithoutCustomHandlerLeftovers()
    {
        string app = File.ReadAllText(Path.Combine(Infra, "app", "functionapp.bicep"));
        string storage = File.ReadAllText(Path.Combine(Infra, "app", "storage.bicep"));
        Assert.Contains("tier: 'FlexConsumption'", app);
        Assert.Contains("name: 'dotnet-isolated'", app);
        Assert.Contains("version: '10.0'", app);
        Assert.Contains("AzureWebJobsStorage__credential: 'managedidentity'", app);
        foreach (string service in new[] { "blob", "queue", "table" }) Assert.Contains($"AzureWebJobsStorage__{service}ServiceUri", app);
        Assert.Contains("allowSharedKeyAccess: false", storage);
        var allBicep = string.Join("\n", Directory.GetFiles(Infra, "*.bicep", SearchOption.AllDirectories).Select(File.ReadAllText));
        Assert.DoesNotContain("listKeys().keys", allBicep); // no account key anywhere
        Assert.DoesNotContain("AccountKey=", allBicep);
        Assert.False(Directory.Exists(Path.Combine(Infra, "functions")), "custom-handler function.json manifests are gone");
        Assert.False(File.Exists(Path.Combine(Infra, "package.sh")));
    }

    [Fact]
    public void HostJson_HasDurableSettingsForFastRecovery_AndNoCustomHandler()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "host.json")));
        var root = doc.RootElement;
        Assert.Equal("2.0", root.GetProperty("version").GetString());
        Assert.False(root.TryGetProperty("customHandler", out _));
        Assert.False(root.TryGetProperty("extensionBundle", out _)); // the isolated worker brings its extensions as packages
        var durable = root.GetProperty("extensions").GetProperty("durableTask");
        Assert.Equal("mlops", durable.GetProperty("hubName").GetString());
        var provider = durable.GetProperty("storageProvider");
        Assert.Equal(4, provider.GetProperty("partitionCount").GetInt32());
        // A killed host's messages reappear after the visibility timeout: at most 30 s, as the recovery target asks.
        Assert.True(TimeSpan.Parse(provider.GetProperty("controlQueueVisibilityTimeout").GetString()!) <= TimeSpan.FromSeconds(30));
        Assert.True(TimeSpan.Parse(provider.GetProperty("workItemQueueVisibilityTimeout").GetString()!) <= TimeSpan.FromSeconds(30));
        Assert.True(TimeSpan.Parse(provider.GetProperty("maxQueuePollingInterval").GetString()!) <= TimeSpan.FromSeconds(2));
        // No prefix: the dashboard is served at / by the same app; every HTTP function's route starts with api/ itself.
        Assert.Equal("", root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    [Fact]
    public void HostJson_IsCopiedNextToTheFunctionApp()
    {
        string csproj = File.ReadAllText(Path.Combine(Root, "functions", "Mlops.Functions", "Mlops.Functions.csproj"));
        Assert.Matches(@"<None Include=""\.\./\.\./host\.json""[^>]*CopyToOutputDirectory=""PreserveNewest""", csproj);
        string built = Path.Combine(Path.GetDirectoryName(typeof(Mlops.Functions.Hosting.HostSettings).Assembly.Location)!, "host.json");
        Assert.True(File.Exists(built), $"host.json is not in the app's output ({built}).");
    }

    /// <summary>Parameter name → whether it has a default value, from the Bicep source.</summary>
    private static Dictionary<string, bool> BicepParameters(string bicep)
    {
        // Multi-line ''' strings (long descriptions) could hold a line that looks like a declaration: drop them first.
        string code = MultiLineString().Replace(bicep, "''");
        return ParamDeclaration().Matches(code).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Success);
    }

    [GeneratedRegex(@"(?m)^param\s+(\w+)\s+[\w\[\]]+(\s*=.*)?$")]
    private static partial Regex ParamDeclaration();

    [GeneratedRegex(@"'''.*?'''", RegexOptions.Singleline)]
    private static partial Regex MultiLineString();

    [GeneratedRegex(@"(?m)^module\s+\w+\s+'([^']+\.bicep)'")]
    private static partial Regex ModuleReference();

    [GeneratedRegex(@"(?m)^\s+project:\s*(.+)$")]
    private static partial Regex ProjectLine();
}
