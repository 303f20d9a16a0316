using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Functions.Hosting;
using Mlops.Functions.Security;
using Mlops.Functions.Tests.EndToEnd;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.Azure;

/// <summary>
/// The contract with the Azure Functions host, checked without the host: the build's functions.metadata (written by
/// the Worker SDK from the [Function] attributes) against what the local runner serves and runs.
/// </summary>
public sealed class FunctionMetadataTests(FunctionHostFixture host) : IClassFixture<FunctionHostFixture>
{
    private static readonly JsonElement[] Functions = Load();

    private static JsonElement[] Load()
    {
        string config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        string path = Path.Combine(AzuriteInstance.RepoRoot(), "functions", "Mlops.Functions", "bin", config, "net10.0", "functions.metadata");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().ToArray();
    }

    private static JsonElement Function(string name) => Functions.Single(f => f.GetProperty("name").GetString() == name);

    private static JsonElement Trigger(JsonElement function) =>
        function.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));

    private static bool HasDurableClient(JsonElement function) =>
        function.GetProperty("bindings").EnumerateArray().Any(b => b.GetProperty("type").GetString() == "durableClient");

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

        Assert.Equal("%RETRAIN_SCHEDULE%", Trigger(Function("ScheduledRetraining")).GetProperty("schedule").GetString());
        Assert.Equal("0 * * * * *", Trigger(Function("MonitorSchedule")).GetProperty("schedule").GetString());
        Assert.Equal("0 * * * * *", Trigger(Function("DatasetSchedules")).GetProperty("schedule").GetString());
    }

    [Fact]
    public void EveryOrchestratorAndActivity_HasItsFunction_UnderItsTaskName()
    {
        var tasks = typeof(Mlops.Pipelines.PipelineRegistration).Assembly.GetTypes().Where(t => !t.IsAbstract && t.BaseType is { IsGenericType: true }).ToList();
        var orchestrators = tasks.Where(t => t.BaseType!.GetGenericTypeDefinition() == typeof(TaskOrchestrator<,>)).Select(t => t.Name).ToList();
        var activities = tasks.Where(t => t.BaseType!.GetGenericTypeDefinition() == typeof(TaskActivity<,>)).Select(t => t.Name).ToList();
        Assert.Contains("TrainingPipeline", orchestrators);
        Assert.True(activities.Count >= 14, string.Join(", ", activities));
        foreach (string o in orchestrators) Assert.Equal("orchestrationTrigger", Trigger(Function(o)).GetProperty("type").GetString());
        foreach (string a in activities) Assert.Equal("activityTrigger", Trigger(Function(a)).GetProperty("type").GetString());
    }

    [Fact]
    public void HttpFunctions_AreExactlyTheLocalRoutes_WithTheKeyLevelsTheHostEnforces()
    {
        var declared = new Dictionary<string, string>();
        foreach (var f in Functions)
        {
            var t = Trigger(f);
            if (t.GetProperty("type").GetString() != "httpTrigger") continue;
            string route = "/" + t.GetProperty("route").GetString(); // host.json's routePrefix is "": routes carry api/ themselves
            foreach (var m in t.GetProperty("methods").EnumerateArray())
                declared[$"{m.GetString()!.ToUpperInvariant()} {route}"] = t.GetProperty("authLevel").GetString()!;
        }

        var served = host.ApiRoutes().Append((Method: "GET", Pattern: DashboardFiles.Route)).Select(r => $"{r.Method} {r.Pattern}").ToHashSet();
        Assert.Equal(served.Order(), declared.Keys.Order());

        foreach (var (key, level) in declared)
        {
            string method = key[..key.IndexOf(' ')], path = key[(key.IndexOf(' ') + 1)..];
            string expected = FunctionKeyMiddleware.Required(method, path) switch { KeyLevel.None => "Anonymous", KeyLevel.Admin => "Admin", _ => "Function" };
            Assert.True(expected == level, $"{key}: the function says {level}, the local host enforces {expected}");
        }
    }

    [Fact]
    public async Task DatasetSchedules_StartsOneRunPerDueOccurrence_OnlyForDatasetsWithASchedule()
    {
        await host.Storage.Blobs.WriteAsync("incoming", "sched-every-min/mlops.json", """{"target":"label","task":"binary","schedule":"0 * * * * *"}"""u8.ToArray());
        await host.Storage.Blobs.WriteAsync("incoming", "sched-daily/mlops.json", """{"target":"label","task":"binary","schedule":"0 0 3 * * *"}"""u8.ToArray());
        var launcher = new RecordingLauncher();
        var function = new Mlops.Functions.Functions.DatasetSchedules(host.App.Services.GetRequiredService<Mlops.Core.Storage.StorageServices>(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Mlops.Functions.Functions.DatasetSchedules>.Instance);
        var now = new DateTimeOffset(2026, 12, 1, 10, 30, 20, TimeSpan.Zero);
        await function.RunAsync(now, launcher);
        await function.RunAsync(now.AddSeconds(5), launcher); // the same minute again: the same instance id
        Assert.Equal(["train-sched-every-min-sched-20261201T103000", "train-sched-every-min-sched-20261201T103000"], launcher.Ids);
    }

    private sealed class RecordingLauncher : Mlops.Pipelines.Launching.IPipelineLauncher
    {
        public List<string> Ids { get; } = [];
        public Task<string> StartTrainingAsync(string dataset, Mlops.Pipelines.Launching.PipelineTrigger trigger, string instanceId, CancellationToken cancellationToken = default)
        {
            lock (Ids) Ids.Add(instanceId);
            return Task.FromResult(instanceId);
        }
    }

    [Fact]
    public async Task HttpRoutes_RunTheRouteHandlerOnTheFunctionsHttpContext()
    {
        var routes = new HttpRoutes(host.App.Services);
        Assert.Contains("GET /api/models/{model}", routes.Keys);
        var context = new DefaultHttpContext { RequestServices = host.App.Services };
        context.Request.Method = "GET";
        context.Request.Path = "/api/models/no-such-model";
        context.Response.Body = new MemoryStream();
        try { await routes.InvokeAsync(context.Request, host.App.Services.GetRequiredService<DurableTaskClient>(), "GET", "/api/models/{model}"); }
        catch (Mlops.Core.Errors.MlopsException e) { Assert.Equal(404, e.Status); return; } // the host's error middleware answers it
        Assert.Equal(404, context.Response.StatusCode);
    }
}
