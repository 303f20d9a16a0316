using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Core.Storage;
using Mlops.Functions.Functions.Http;
using Mlops.Functions.Handlers;
using Mlops.Storage.InMemory;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.Azure;

/// <summary>
/// The contract with the Functions host, checked on the build's functions.metadata (written by the Worker SDK from the
/// [Function] attributes — what Azure's host and our local host load): triggers, key levels, and HTTP routing as the
/// host does it — functions sorted by name (case-insensitive), the first whose method, template and route constraints
/// match wins (WebJobs.Script's FunctionMetadataManager + WebJobsRouteBuilder; ASP.NET Core's TemplateMatcher and
/// inline constraint resolver here, as there).
/// </summary>
public sealed class FunctionMetadataTests
{
    private static readonly JsonElement[] Functions = Load();

    private static JsonElement[] Load()
    {
        string config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        string path = Path.Combine(
            AzuriteInstance.RepoRoot(),
            "functions",
            "Mlops.Functions",
            "bin",
            config,
            "net10.0",
            "functions.metadata"
        );
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static JsonElement Function(string name) =>
        Functions.Single(f => f.GetProperty("name").GetString() == name);

    private static JsonElement Trigger(JsonElement function) =>
        function
            .GetProperty("bindings")
            .EnumerateArray()
            .Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));

    private static bool HasDurableClient(JsonElement function) =>
        function
            .GetProperty("bindings")
            .EnumerateArray()
            .Any(b => b.GetProperty("type").GetString() == "durableClient");

    /// <summary>One HTTP function as the host routes it.</summary>
    private sealed record HostRoute(
        string Name,
        string[] Methods,
        string Template,
        string AuthLevel,
        TemplateMatcher Matcher,
        RouteTemplate Parsed
    );

    /// <summary>The HTTP functions in the host's order: by name, case-insensitive.</summary>
    private static readonly HostRoute[] Routes = Functions
        .Where(f => Trigger(f).GetProperty("type").GetString() == "httpTrigger")
        .Select(f =>
        {
            var t = Trigger(f);
            string template = t.GetProperty("route").GetString()!;
            var parsed = TemplateParser.Parse(template);
            return new HostRoute(
                f.GetProperty("name").GetString()!,
                t.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToArray(),
                template,
                t.GetProperty("authLevel").GetString()!,
                new TemplateMatcher(parsed, new RouteValueDictionary()),
                parsed
            );
        })
        .OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase)
        .ToArray();

    private static readonly IInlineConstraintResolver Constraints = new ServiceCollection()
        .AddRouting()
        .BuildServiceProvider()
        .GetRequiredService<IInlineConstraintResolver>();

    /// <summary>The function the host picks for a request, or null (the host's 404).</summary>
    private static string? Resolve(string method, string path)
    {
        foreach (var route in Routes)
        {
            if (!route.Methods.Contains(method))
                continue;
            var values = new RouteValueDictionary();
            if (!route.Matcher.TryMatch(new PathString("/" + path.TrimStart('/')), values))
                continue;
            if (ConstraintsHold(route, values))
                return route.Name;
        }
        return null;
    }

    private static bool ConstraintsHold(HostRoute route, RouteValueDictionary values)
    {
        foreach (var parameter in route.Parsed.Parameters)
        foreach (var inline in parameter.InlineConstraints)
        {
            if (!values.TryGetValue(parameter.Name!, out var value) || value is null)
                continue; // an absent optional value is not checked
            var constraint = (IRouteConstraint)Constraints.ResolveConstraint(inline.Constraint)!;
            if (!constraint.Match(null, null, parameter.Name!, values, RouteDirection.IncomingRequest))
                return false;
        }
        return true;
    }

    /// <summary>A request path the route's own template accepts: parameters filled with values its constraints
    /// allow.</summary>
    private static string SamplePath(HostRoute route) =>
        string.Join(
            '/',
            route.Parsed.Segments.Select(segment =>
                string.Concat(
                    segment.Parts.Select(part =>
                        !part.IsParameter ? part.Text
                        : part.IsCatchAll ? "assets/app.js"
                        : part.InlineConstraints.Any(c => c.Constraint.StartsWith("int", StringComparison.Ordinal))
                            ? "7"
                        : "probe-" + part.Name!.ToLowerInvariant()
                    )
                )
            )
        );

    [Fact]
    public void Triggers_HaveTheirPathsSchedulesAndSources()
    {
        var drop = Trigger(Function("DataDropped"));
        Assert.Equal("blobTrigger", drop.GetProperty("type").GetString());
        Assert.Equal("incoming/{dataset}/{name}", drop.GetProperty("path").GetString());
        Assert.Equal("EventGrid", drop.GetProperty("source").GetString()); // the only blob source on Flex Consumption
        Assert.Equal("AzureWebJobsStorage", drop.GetProperty("connection").GetString());
        Assert.True(HasDurableClient(Function("DataDropped")));

        var feedback = Trigger(Function("FeedbackDropped"));
        Assert.Equal("feedback/{model}/{name}", feedback.GetProperty("path").GetString());
        Assert.Equal("EventGrid", feedback.GetProperty("source").GetString());

        Assert.Equal(
            "%RETRAIN_SCHEDULE%",
            Trigger(Function("ScheduledRetraining")).GetProperty("schedule").GetString()
        );
        Assert.Equal("0 * * * * *", Trigger(Function("MonitorSchedule")).GetProperty("schedule").GetString());
        Assert.Equal("0 * * * * *", Trigger(Function("DatasetSchedules")).GetProperty("schedule").GetString());
    }

    [Fact]
    public void EveryOrchestratorAndActivity_HasItsFunction_UnderItsTaskName()
    {
        var tasks = typeof(Mlops.Pipelines.PipelineRegistration)
            .Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.BaseType is { IsGenericType: true })
            .ToList();
        var orchestrators = tasks
            .Where(t => t.BaseType!.GetGenericTypeDefinition() == typeof(TaskOrchestrator<,>))
            .Select(t => t.Name)
            .ToList();
        var activities = tasks
            .Where(t => t.BaseType!.GetGenericTypeDefinition() == typeof(TaskActivity<,>))
            .Select(t => t.Name)
            .ToList();
        Assert.Contains("TrainingPipeline", orchestrators);
        // The same sets on both sides: a task without its function, or a function left after its task went, both fail.
        string[] FunctionsOf(string trigger) =>
            Functions
                .Where(f => Trigger(f).GetProperty("type").GetString() == trigger)
                .Select(f => f.GetProperty("name").GetString()!)
                .Order(StringComparer.Ordinal)
                .ToArray();
        Assert.Equal(orchestrators.Order(StringComparer.Ordinal), FunctionsOf("orchestrationTrigger"));
        Assert.Equal(activities.Order(StringComparer.Ordinal), FunctionsOf("activityTrigger"));
    }

    [Fact]
    public void EveryHttpRoute_InTheHostsOrder_ReachesTheFunctionThatDeclaresIt()
    {
        Assert.True(Routes.Length >= 45, $"expected every HTTP function, found {Routes.Length}");
        foreach (var route in Routes)
        foreach (string method in route.Methods)
        {
            string path = SamplePath(route);
            Assert.True(
                route.Name == Resolve(method, path),
                $"{method} /{path} (declared by {route.Name} as {route.Template}) reaches {Resolve(method, path) ?? "nothing"}"
            );
        }
    }

    [Theory]
    [InlineData("GET", "api/runs/groups", "GroupRuns")]
    [InlineData("GET", "api/runs/compare", "CompareRuns")]
    [InlineData("GET", "api/runs/Groups", "GroupRuns")] // the host's routing and regex constraints ignore case
    [InlineData("GET", "api/runs/pipeline-1-t0", "GetRun")]
    [InlineData("GET", "api/runs/groupsx", "GetRun")]
    [InlineData("POST", "api/runs/reindex", "ReindexRuns")]
    [InlineData("GET", "api/health", "Health")]
    [InlineData("GET", "api/models", "ListModels")]
    [InlineData("GET", "api/models/m/traffic/live", "GetLiveTraffic")]
    [InlineData("GET", "api/models/m/versions/3", "GetModelVersion")]
    [InlineData("GET", "api/models/m/monitoring/run-1/report.html", "GetMonitorReportHtml")]
    [InlineData("POST", "api/orchestrations/i-1/raiseEvent/approval", "RaiseOrchestrationEvent")]
    [InlineData("POST", "api/orchestrations/i-1/terminate", "ManageOrchestration")]
    [InlineData("GET", "openapi/v1.json", "OpenApiDocument")]
    [InlineData("GET", "", DashboardFunctions.Name)]
    [InlineData("GET", "index.html", DashboardFunctions.Name)]
    [InlineData("GET", "assets/app.1234.js", DashboardFunctions.Name)]
    public void Request_ReachesTheExpectedFunction(string method, string path, string function) =>
        Assert.Equal(function, Resolve(method, path));

    [Theory]
    [InlineData("GET", "api")]
    [InlineData("GET", "api/no-such-route")]
    [InlineData("GET", "API/Models/m/x/y/z")]
    [InlineData("GET", "api/models/m/versions/not-a-number")]
    public void UnknownApiPath_ReachesNoFunction_NotTheDashboard(string method, string path) =>
        Assert.Null(Resolve(method, path));

    [Fact]
    public void DashboardCatchAll_SortsAfterEveryOtherFunction()
    {
        var names = Functions
            .Select(f => f.GetProperty("name").GetString()!)
            .Order(StringComparer.OrdinalIgnoreCase)
            .ToList();
        Assert.Equal(DashboardFunctions.Name, names[^1]);
    }

    [Fact]
    public void KeyLevels_ReadsAndPredictTakeAFunctionKey_WritesAndFeedbackTheMasterKey()
    {
        foreach (var route in Routes)
        foreach (string method in route.Methods)
        {
            string expected =
                route.Template is "api/health" or "openapi/v1.json" || route.Name == DashboardFunctions.Name
                    ? "Anonymous"
                // Starting a batch job is scoring, as predict is (issue 20: the same key level as predict).
                : method == "GET"
                || route.Template.EndsWith("/predict", StringComparison.Ordinal)
                || route.Template == "api/models/{model}/batch"
                    ? "Function"
                : "Admin";
            Assert.True(
                expected == route.AuthLevel,
                $"{method} {route.Template} ({route.Name}) is {route.AuthLevel}, expected {expected}"
            );
        }
    }

    [Fact]
    public void OpenApiDocument_ListsEveryRouteTheBuildDeclares_WithItsKeyLevel()
    {
        var doc = JsonSerializer.SerializeToElement(OpenApiDocument.Instance.Value, Mlops.Core.Json.Options);
        var paths = doc.GetProperty("paths");
        int operations = 0;
        foreach (var route in Routes)
        foreach (string method in route.Methods)
        {
            var (path, _) = OpenApiDocument.PathOf(route.Template);
            Assert.True(paths.TryGetProperty(path, out var item), $"{route.Template} is not documented (as {path})");
            Assert.True(
                item.TryGetProperty(method.ToLowerInvariant(), out var op),
                $"{method} {path} is not documented"
            );
            Assert.Equal(route.Name, op.GetProperty("operationId").GetString());
            string? scheme = route.AuthLevel switch
            {
                "Admin" => OpenApiDocument.AdminScheme,
                "Function" => OpenApiDocument.FunctionScheme,
                _ => null,
            };
            if (scheme is null)
                Assert.False(op.TryGetProperty("security", out _), $"{method} {path} is anonymous");
            else
                Assert.Contains(scheme, op.GetProperty("security").ToString());
            operations++;
        }
        Assert.Equal(operations, paths.EnumerateObject().Sum(p => p.Value.EnumerateObject().Count()));
        Assert.Equal(
            "integer",
            paths
                .GetProperty("/api/models/{model}/versions/{version}")
                .GetProperty("get")
                .GetProperty("parameters")[1]
                .GetProperty("schema")
                .GetProperty("type")
                .GetString()
        );
    }

    [Fact]
    public async Task DatasetSchedules_StartsOneRunPerDueOccurrence_OnlyForDatasetsWithASchedule()
    {
        var storage = new StorageServices(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore());
        await storage.Blobs.WriteAsync(
            "incoming",
            "sched-every-min/mlops.json",
            """{"target":"label","task":"binary","schedule":"0 * * * * *"}"""u8.ToArray()
        );
        await storage.Blobs.WriteAsync(
            "incoming",
            "sched-daily/mlops.json",
            """{"target":"label","task":"binary","schedule":"0 0 3 * * *"}"""u8.ToArray()
        );
        var launcher = new RecordingLauncher();
        var function = new Mlops.Functions.Functions.DatasetSchedules(
            storage,
            NullLogger<Mlops.Functions.Functions.DatasetSchedules>.Instance
        );
        var now = new DateTimeOffset(2026, 12, 1, 10, 30, 20, TimeSpan.Zero);
        await function.RunAsync(now, launcher);
        await function.RunAsync(now.AddSeconds(5), launcher); // the same minute again: the same instance id
        Assert.Equal(
            ["train-sched-every-min-sched-20261201T103000", "train-sched-every-min-sched-20261201T103000"],
            launcher.Ids
        );
    }
}

/// <summary>Records the runs a trigger starts instead of starting them.</summary>
internal sealed class RecordingLauncher : Mlops.Pipelines.Launching.IPipelineLauncher
{
    public List<string> Ids { get; } = [];
    public List<Mlops.Pipelines.Launching.PipelineTrigger> Triggers { get; } = [];

    public Task<string> StartTrainingAsync(
        string dataset,
        Mlops.Pipelines.Launching.PipelineTrigger trigger,
        string instanceId,
        CancellationToken cancellationToken = default
    )
    {
        lock (Ids)
        {
            Ids.Add(instanceId);
            Triggers.Add(trigger);
        }
        return Task.FromResult(instanceId);
    }
}

public sealed class OpenApiSchemaTests
{
    [Fact]
    public void OpenApiDocument_RunsRoutes_ReferenceNamedSchemas_AsTheAppSerializesThem()
    {
        var doc = System.Text.Json.JsonSerializer.SerializeToElement(
            OpenApiDocument.Instance.Value,
            Mlops.Core.Json.Options
        );
        var paths = doc.GetProperty("paths");
        foreach (
            string path in new[]
            {
                "/api/runs",
                "/api/runs/{runId}",
                "/api/runs/compare",
                "/api/runs/groups",
                "/api/sweeps/{pipelineId}",
                "/api/models",
            }
        )
            Assert.Contains(
                "\"$ref\"",
                paths.GetProperty(path).GetProperty("get").GetProperty("responses").GetProperty("200").ToString()
            );
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        foreach (
            string name in new[]
            {
                "RunList",
                "RunDetail",
                "RunComparison",
                "RunGroups",
                "SweepView",
                "ModelSummaryList",
            }
        )
            Assert.True(schemas.TryGetProperty(name, out _), $"no schema {name}");
        Assert.True(schemas.GetProperty("RunList").GetProperty("properties").TryGetProperty("columns", out _)); // camelCase, as served
    }
}
