using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mlops.Testing;
using NCrontab;
using Xunit;

namespace Mlops.Functions.Tests.Infra;

/// <summary>
/// The deployment's wiring without an Azure subscription: the azd parameters file, azure.yaml and the Bicep modules
/// point at what exists, and host.json carries the Durable settings the app relies on; the Event Grid subscriptions
/// cover every Event Grid-source blob trigger the build declares, and the postdeploy hook that makes them runs as azd
/// would run it. (Each Bicep file's own syntax, types and lint rules are checked by infra/lint.sh with the Bicep CLI.)
/// </summary>
public sealed partial class InfraLayoutTests
{
    private static readonly string Root = AzuriteInstance.RepoRoot();
    private static readonly string Infra = Path.Combine(Root, "infra");
    private static readonly string Hooks = Path.Combine(Infra, "hooks");

    // Templates deployed on their own, not as a module: main.bicep by azd provision, the blob events by the hook.
    private static readonly string[] EntryTemplates =
    [
        Path.Combine(Infra, "main.bicep"),
        Path.Combine(Hooks, "blob-events.bicep"),
    ];

    [Fact]
    public void ParametersFile_NamesOnlyDeclaredParameters_AndGivesEveryRequiredOne()
    {
        var declared = BicepParameters(File.ReadAllText(Path.Combine(Infra, "main.bicep")));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Infra, "main.parameters.json")));
        var given = doc.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToList();

        Assert.NotEmpty(given);
        Assert.All(given, name =>
            Assert.True(
                declared.ContainsKey(name),
                $"main.parameters.json sets '{name}', which main.bicep does not declare."
            )
        );
        var required = declared.Where(p => !p.Value).Select(p => p.Key);
        Assert.All(required, name =>
            Assert.True(
                given.Contains(name),
                $"main.bicep requires '{name}' but main.parameters.json does not give it."
            )
        );
        Assert.All(doc.RootElement.GetProperty("parameters").EnumerateObject(), p =>
            Assert.True(p.Value.TryGetProperty("value", out _), p.Name)
        );
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
        var bicepFiles = Directory
            .GetFiles(Infra, "*.bicep", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}tools{Path.DirectorySeparatorChar}"))
            .ToList();
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in bicepFiles)
        {
            foreach (Match m in ModuleReference().Matches(File.ReadAllText(file)))
            {
                string target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, m.Groups[1].Value));
                Assert.True(
                    File.Exists(target),
                    $"{Path.GetRelativePath(Root, file)} references module {m.Groups[1].Value}, which does not exist."
                );
                referenced.Add(target);
            }
        }
        var orphans = bicepFiles.Where(f =>
            !EntryTemplates.Contains(Path.GetFullPath(f)) && !referenced.Contains(Path.GetFullPath(f))
        );
        Assert.Empty(orphans);
        Assert.All(EntryTemplates, f => Assert.True(File.Exists(f), f));
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
        foreach (string service in new[] { "blob", "queue", "table" })
            Assert.Contains($"AzureWebJobsStorage__{service}ServiceUri", app);
        Assert.Contains("allowSharedKeyAccess: false", storage);
        var allBicep = string.Join(
            "\n",
            Directory.GetFiles(Infra, "*.bicep", SearchOption.AllDirectories).Select(File.ReadAllText)
        );
        Assert.DoesNotContain("listKeys().keys", allBicep); // no account key anywhere
        Assert.DoesNotContain("AccountKey=", allBicep);
        Assert.False(
            Directory.Exists(Path.Combine(Infra, "functions")),
            "custom-handler function.json manifests are gone"
        );
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
        Assert.True(
            TimeSpan.Parse(provider.GetProperty("controlQueueVisibilityTimeout").GetString()!)
                <= TimeSpan.FromSeconds(30)
        );
        Assert.True(
            TimeSpan.Parse(provider.GetProperty("workItemQueueVisibilityTimeout").GetString()!)
                <= TimeSpan.FromSeconds(30)
        );
        Assert.True(
            TimeSpan.Parse(provider.GetProperty("maxQueuePollingInterval").GetString()!) <= TimeSpan.FromSeconds(2)
        );
        // No prefix: the dashboard is served at / by the same app; every HTTP function's route starts with api/ itself.
        Assert.Equal("", root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    [Fact]
    public void HostJson_IsCopiedNextToTheFunctionApp()
    {
        var csproj = System.Xml.Linq.XDocument.Load(
            Path.Combine(Root, "functions", "Mlops.Functions", "Mlops.Functions.csproj")
        );
        var item = Assert.Single(csproj.Descendants("None"), e => (string?)e.Attribute("Include") == "../../host.json");
        Assert.Equal("PreserveNewest", (string?)item.Attribute("CopyToOutputDirectory"));
        string built = Path.Combine(
            Path.GetDirectoryName(typeof(Mlops.Functions.Hosting.AppSettings).Assembly.Location)!,
            "host.json"
        );
        Assert.True(File.Exists(built), $"host.json is not in the app's output ({built}).");
    }

    [Fact]
    public void BlobEventTriggers_ListExactlyTheEventGridBlobTriggersOfTheBuild()
    {
        var built = EventGridBlobTriggers();
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Infra, "blob-event-triggers.json")));
        var listed = doc
            .RootElement.GetProperty("triggers")
            .EnumerateArray()
            .Select(t =>
                (
                    Function: t.GetProperty("functionName").GetString()!,
                    Container: t.GetProperty("container").GetString()!
                )
            )
            .ToList();

        // The drop zone and the feedback drop (which once had no subscription and never fired in Azure).
        Assert.Contains(("DataDropped", "incoming"), built);
        Assert.Contains(("FeedbackDropped", "feedback"), built);
        Assert.Equal(built.Order(), listed.Order());
        Assert.Equal(listed.Count, listed.Select(t => t.Container).Distinct().Count()); // subscriptions are named by container
    }

    [Fact]
    public void BlobEventsTemplate_SubscribesEachListedTrigger_ToItsFunctionsWebhook_FilteredByItsContainer()
    {
        string template = File.ReadAllText(Path.Combine(Hooks, "blob-events.bicep"));
        string main = File.ReadAllText(Path.Combine(Infra, "main.bicep"));

        Assert.Contains("var triggers = loadJsonContent('../blob-event-triggers.json', '.triggers')", template);
        Assert.Matches(
            @"(?m)^resource \w+ 'Microsoft\.EventGrid/systemTopics/eventSubscriptions@[\w-]+' = \[for trigger in triggers: \{$",
            template
        );
        Assert.Contains(
            "var webhooksBase = 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs'",
            template
        );
        Assert.Contains(
            "endpointUrl: '${webhooksBase}?functionName=Host.Functions.${trigger.functionName}&code=${blobsExtensionKey}'",
            template
        );
        Assert.Matches(
            @"var blobsExtensionKey = listKeys\('\$\{functionApp\.id\}/host/default', [^)]+\)\.systemKeys\.blobs_extension",
            template
        );
        Assert.Contains("subjectBeginsWith: '/blobServices/default/containers/${trigger.container}/'", template);
        Assert.Contains("includedEventTypes: ['Microsoft.Storage.BlobCreated']", template);
        // main.bicep creates every listed container, and the topic the hook subscribes to is one of its outputs.
        Assert.Contains("var blobEventTriggers = loadJsonContent('blob-event-triggers.json', '.triggers')", main);
        Assert.Contains(
            "containerNames: union(appContainerNames, blobEventContainerNames, [deploymentContainerName])",
            main
        );
        Assert.Matches(@"(?m)^output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME string = ", main);
        // azd provision runs before any code exists: nothing it deploys may read a host key.
        var provisioned = Directory
            .GetFiles(Infra, "*.bicep", SearchOption.AllDirectories)
            .Where(f =>
                !f.StartsWith(Hooks + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}tools{Path.DirectorySeparatorChar}")
            );
        Assert.All(provisioned, f => Assert.DoesNotContain("listKeys", File.ReadAllText(f)));
    }

    [Fact]
    public void RetrainSchedule_WhenEmpty_IsAValidPlaceholder_AndTheFunctionReadingItIsDisabled()
    {
        string main = File.ReadAllText(Path.Combine(Infra, "main.bicep"));
        var schedule = Regex.Match(main, @"(?m)^\s+RETRAIN_SCHEDULE: (\w+) \? trim\(retrainSchedule\) : (\w+)$");
        var disabled = Regex.Match(main, @"(?m)^\s+'AzureWebJobs\.(\w+)\.Disabled': (\w+) \? 'false' : 'true'$");
        Assert.True(
            schedule.Success,
            "main.bicep sets RETRAIN_SCHEDULE to the schedule or, when it is empty, a placeholder."
        );
        Assert.True(
            disabled.Success,
            "main.bicep sets the host's AzureWebJobs.<function>.Disabled switch from the same condition."
        );

        // One condition drives both settings, and it is "the parameter has something besides blanks".
        string condition = schedule.Groups[1].Value;
        Assert.Equal(condition, disabled.Groups[2].Value);
        Assert.Matches($@"(?m)^var {condition} = !empty\(trim\(retrainSchedule\)\)$", main);
        // The placeholder must load under the real host (a 6-field NCRONTAB), or an empty schedule is still a load error.
        var placeholder = Regex.Match(main, $@"(?m)^var {schedule.Groups[2].Value} = '([^']*)'$");
        Assert.True(placeholder.Success, $"no var {schedule.Groups[2].Value} in main.bicep");
        Assert.NotNull(CrontabSchedule.TryParse(placeholder.Groups[1].Value, SixFields));
        // The defaults are valid schedules too.
        Assert.NotNull(
            CrontabSchedule.TryParse(
                Regex.Match(main, @"(?m)^param retrainSchedule string = '([^']*)'$").Groups[1].Value,
                SixFields
            )
        );
        string parameters = File.ReadAllText(Path.Combine(Infra, "main.parameters.json"));
        Assert.NotNull(
            CrontabSchedule.TryParse(
                Regex.Match(parameters, @"\$\{RETRAIN_SCHEDULE=([^}]*)\}").Groups[1].Value,
                SixFields
            )
        );

        // The switch names the function whose timer reads the setting.
        var function = BuiltFunctions().Single(f => f.GetProperty("name").GetString() == disabled.Groups[1].Value);
        var trigger = function
            .GetProperty("bindings")
            .EnumerateArray()
            .Single(b => b.GetProperty("type").GetString() == "timerTrigger");
        Assert.Equal("%RETRAIN_SCHEDULE%", trigger.GetProperty("schedule").GetString());
    }

    [Fact]
    public void Infra_SetsNoFunctionTimeout_SoHostJsonAloneDecidesIt()
    {
        // host.json owns functionTimeout (training runs in activities and must fit it); an app setting would override it.
        var bicep = Directory.GetFiles(Infra, "*.bicep", SearchOption.AllDirectories).Select(File.ReadAllText);
        Assert.All(bicep, text => Assert.DoesNotContain("functionTimeout", text, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(
            "functionTimeout",
            File.ReadAllText(Path.Combine(Infra, "main.parameters.json")),
            StringComparison.OrdinalIgnoreCase
        );
    }

    [Fact]
    public void AzureYaml_PostdeployHook_RunsTheBashAndPowerShellScripts_WhichReadOnlyWhatAzdProvides()
    {
        string yaml = File.ReadAllText(Path.Combine(Root, "azure.yaml"));
        var hook = Regex.Match(yaml, @"(?ms)^hooks:\s*\n  postdeploy:\s*\n(.*?)(?=^\S|\z)");
        Assert.True(hook.Success, "azure.yaml has no postdeploy hook.");
        var posix = Regex.Match(hook.Groups[1].Value, @"posix:\s*\n\s+shell: sh\s*\n\s+run: (\S+)");
        var windows = Regex.Match(hook.Groups[1].Value, @"windows:\s*\n\s+shell: pwsh\s*\n\s+run: (\S+)");
        Assert.True(
            posix.Success && windows.Success,
            "the postdeploy hook needs a posix (sh) and a windows (pwsh) script."
        );
        string bash = Path.GetFullPath(Path.Combine(Root, posix.Groups[1].Value));
        string pwsh = Path.GetFullPath(Path.Combine(Root, windows.Groups[1].Value));
        Assert.Equal(Path.Combine(Hooks, "postdeploy.sh"), bash);
        Assert.Equal(Path.Combine(Hooks, "postdeploy.ps1"), pwsh);
        // On POSIX azd runs the script's path itself: it must be executable and say its interpreter.
        if (!OperatingSystem.IsWindows())
            Assert.True(File.GetUnixFileMode(bash).HasFlag(UnixFileMode.UserExecute), $"{bash} is not executable.");
        Assert.StartsWith("#!/usr/bin/env bash\n", File.ReadAllText(bash));

        var outputs = Regex
            .Matches(File.ReadAllText(Path.Combine(Infra, "main.bicep")), @"(?m)^output (\w+) ")
            .Select(m => m.Groups[1].Value)
            .ToHashSet();
        foreach (string script in new[] { bash, pwsh })
        {
            string text = File.ReadAllText(script);
            Assert.Contains("blob-events.bicep", text);
            Assert.Contains("ENABLE_BLOB_EVENTS", text);
            // Every AZURE_* value a script reads is an output of main.bicep or one azd sets itself.
            var read = Regex.Matches(text, @"\bAZURE_[A-Z_]+\b").Select(m => m.Value).Distinct().ToList();
            Assert.NotEmpty(read);
            Assert.All(read, name =>
                Assert.True(
                    outputs.Contains(name) || name == "AZURE_SUBSCRIPTION_ID",
                    $"{Path.GetFileName(script)} reads {name}, which neither main.bicep nor azd provides."
                )
            );
        }
    }

    [Fact]
    public async Task PostdeployScript_WithAzureCli_WaitsForTheKeyWithoutReadingIt_ThenDeploysTheTemplate()
    {
        using var az = new FakeAzureCli();
        var run = await RunPostdeployAsync(az.PathWithIt, AzdEnvironment());

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(2, az.Calls.Count);
        Assert.Equal(
            "functionapp keys list --subscription sub-1 --resource-group rg-test --name func-test "
                + "--query systemKeys.blobs_extension != `null` --output tsv",
            az.Calls[0]
        );
        Assert.Equal(
            $"deployment group create --subscription sub-1 --resource-group rg-test --name blob-events "
                + $"--template-file {Path.Combine(Hooks, "blob-events.bicep")} "
                + "--parameters functionAppName=func-test systemTopicName=evgt-test "
                + "--query properties.outputs.subscriptionNames.value --output tsv",
            az.Calls[1]
        );
        Assert.Contains("incoming-blob-created", run.Output); // what the deployment answered is shown
    }

    [Fact]
    public async Task PostdeployScript_BlobEventsDisabled_SkipsWithoutCallingAzure()
    {
        using var az = new FakeAzureCli();
        var environment = AzdEnvironment();
        environment["ENABLE_BLOB_EVENTS"] = "false";
        var run = await RunPostdeployAsync(az.PathWithIt, environment);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Empty(az.Calls);
        Assert.Contains("skipped (ENABLE_BLOB_EVENTS=false)", run.Output);
    }

    [Fact]
    public async Task PostdeployScript_WithoutAzdOutputs_NamesTheMissingOne_AndDeploysNothing()
    {
        using var az = new FakeAzureCli();
        var environment = AzdEnvironment();
        environment.Remove("AZURE_EVENTGRID_SYSTEM_TOPIC_NAME");
        var run = await RunPostdeployAsync(az.PathWithIt, environment);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("AZURE_EVENTGRID_SYSTEM_TOPIC_NAME is not set", run.Output);
        Assert.Empty(az.Calls);
    }

    [Fact]
    public async Task PostdeployScript_WithoutAzureCli_FailsSayingWhatToInstall()
    {
        using var az = new FakeAzureCli();
        var run = await RunPostdeployAsync(az.PathWithoutIt, AzdEnvironment());

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("the Azure CLI (az) is needed", run.Output);
        Assert.Contains("ENABLE_BLOB_EVENTS false", run.Output);
    }

    private static Dictionary<string, string> AzdEnvironment() =>
        new()
        {
            ["AZURE_SUBSCRIPTION_ID"] = "sub-1",
            ["AZURE_RESOURCE_GROUP"] = "rg-test",
            ["AZURE_FUNCTION_APP_NAME"] = "func-test",
            ["AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"] = "evgt-test",
        };

    /// <summary>Runs the bash hook as azd would (its environment and nothing else), with <paramref name="path"/> as PATH.</summary>
    private static async Task<(int ExitCode, string Output)> RunPostdeployAsync(
        string path,
        Dictionary<string, string> environment
    )
    {
        var start = new ProcessStartInfo("/bin/bash", [Path.Combine(Hooks, "postdeploy.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Root,
        };
        start.Environment.Clear();
        start.Environment["PATH"] = path;
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// A stand-in for the Azure CLI on PATH: it records each call's arguments (one line per call), says the host key
    /// exists, and answers a deployment with the subscription names the real template outputs.
    /// </summary>
    private sealed class FakeAzureCli : IDisposable
    {
        private readonly string directory = Directory.CreateTempSubdirectory("fake-az-").FullName;
        private readonly string log;

        public FakeAzureCli()
        {
            log = Path.Combine(directory, "calls.log");
            string bin = Path.Combine(directory, "bin");
            Directory.CreateDirectory(bin);
            string script = Path.Combine(bin, "az");
            File.WriteAllText(
                script,
                $$"""
                #!/bin/bash
                echo "$*" >> '{{log}}'
                case "$1 $2" in
                  "functionapp keys") echo true ;;
                  "deployment group") printf 'incoming-blob-created\tfeedback-blob-created\n' ;;
                  *) echo "fake az: unexpected call: $*" >&2; exit 2 ;;
                esac
                """
            );
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            PathWithIt = $"{bin}:/usr/bin:/bin";
            // An empty directory: no az anywhere (the script runs only bash builtins before it looks for az).
            PathWithoutIt = Path.Combine(directory, "empty");
            Directory.CreateDirectory(PathWithoutIt);
        }

        public string PathWithIt { get; }
        public string PathWithoutIt { get; }
        public List<string> Calls => File.Exists(log) ? File.ReadAllLines(log).ToList() : [];

        public void Dispose() => Directory.Delete(directory, recursive: true);
    }

    private static readonly CrontabSchedule.ParseOptions SixFields = new() { IncludingSeconds = true };

    /// <summary>The built app's functions.metadata (the Worker SDK writes it from the [Function] attributes).</summary>
    private static JsonElement[] BuiltFunctions()
    {
        string config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        string path = Path.Combine(
            Root,
            "functions",
            "Mlops.Functions",
            "bin",
            config,
            "net10.0",
            "functions.metadata"
        );
        Assert.True(File.Exists(path), $"{path} is missing: build functions/Mlops.Functions first.");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().ToArray();
    }

    /// <summary>(function, container) of every blob trigger whose source is Event Grid, from the build.</summary>
    private static List<(string Function, string Container)> EventGridBlobTriggers() =>
        BuiltFunctions()
            .SelectMany(f =>
                f.GetProperty("bindings")
                    .EnumerateArray()
                    .Where(b =>
                        b.GetProperty("type").GetString() == "blobTrigger"
                        && b.TryGetProperty("source", out var source)
                        && source.GetString() == "EventGrid"
                    )
                    .Select(b => (f.GetProperty("name").GetString()!, b.GetProperty("path").GetString()!.Split('/')[0]))
            )
            .ToList();

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
