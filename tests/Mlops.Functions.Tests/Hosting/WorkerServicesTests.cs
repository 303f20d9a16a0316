using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.Extensions.DurableTask;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Mlops.Core.Storage;
using Mlops.Functions.Functions.Http;
using Mlops.Functions.Hosting;
using Mlops.Pipelines.Training;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Functions.Tests.Hosting;

/// <summary>
/// The worker's services as Program builds them (FunctionsApplication + ConfigureFunctionsWebApplication + AddMlops),
/// with the Durable extension's own startup applied as the worker applies it: every function class can be built, and
/// the Durable converters the extension derives are the app's JSON options.
/// </summary>
public sealed class WorkerServicesTests : IDisposable
{
    private readonly IHost _host;

    public WorkerServicesTests()
    {
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.ConfigureFunctionsWebApplication();
        builder.Services.AddMlops(
            new AppSettings(),
            new StorageServices(new InMemoryBlobStore(), new InMemoryQueueStore(), new InMemoryTableStore())
        );
        // The worker runs each extension's startup through the app's generated executor; a test host has no such entry
        // assembly, so the Durable extension's startup (which reads WorkerOptions.Serializer) is applied here.
        new DurableTaskExtensionStartup().Configure(builder);
        _host = builder.Build();
    }

    public void Dispose() => _host.Dispose();

    private DataConverter WorkerConverter =>
        _host.Services.GetRequiredService<IOptions<DurableTaskWorkerOptions>>().Value.DataConverter;

    [Fact]
    public void DurableCustomStatus_IsCamelCase_AsTheDashboardReadsIt()
    {
        string json = WorkerConverter.Serialize(new PipelineProgress("train", "Training (gbdt).", Percent: 40))!;
        Assert.Contains("\"stage\":\"train\"", json);
        Assert.Contains("\"percent\":40", json);
        Assert.DoesNotContain("\"Stage\"", json);
        string client = _host
            .Services.GetRequiredService<IOptions<DurableTaskClientOptions>>()
            .Value.DataConverter.Serialize(new PipelineProgress("gate", "m"))!;
        Assert.Contains("\"stage\":\"gate\"", client); // the client (management API, starts) writes the same way
    }

    [Fact]
    public void DurableOutput_NaNMetric_RoundTrips()
    {
        // AUC of a split with one class is NaN: the run's output must carry it, not fail to serialize.
        var result = new PipelineResult(
            "ds",
            "promoted",
            "hash",
            1,
            true,
            "ok",
            new Dictionary<string, double> { ["auc"] = double.NaN, ["accuracy"] = 0.9 }
        );
        string json = WorkerConverter.Serialize(result)!;
        Assert.Contains("\"auc\":\"NaN\"", json);
        var back = WorkerConverter.Deserialize<PipelineResult>(json)!;
        Assert.True(double.IsNaN(back.Metrics!["auc"]));
        Assert.Equal(0.9, back.Metrics["accuracy"]);
    }

    [Fact]
    public void EveryFunctionClass_CanBeBuiltFromTheWorkersServices()
    {
        // The review found every HTTP function failing at construction under the host: services were registered only
        // by a local runner. Build each class the way the worker does (constructor injection from its services).
        var classes = typeof(AppServices)
            .Assembly.GetTypes()
            .Where(t =>
                t.GetMethods()
                    .Any(m =>
                        m.GetCustomAttributes(typeof(Microsoft.Azure.Functions.Worker.FunctionAttribute), false).Length
                        > 0
                    )
            )
            .ToList();
        Assert.Contains(typeof(ModelFunctions), classes);
        Assert.True(classes.Count >= 14, string.Join(", ", classes.Select(c => c.Name)));
        using var scope = _host.Services.CreateScope();
        foreach (var type in classes)
            Assert.NotNull(ActivatorUtilities.CreateInstance(scope.ServiceProvider, type));
    }

    [Fact]
    public void OpenApiFunction_AnswersTheGeneratedDocument()
    {
        var functions = ActivatorUtilities.CreateInstance<HostFunctions>(_host.Services);
        var response = (ApiResponse)functions.OpenApi(new Microsoft.AspNetCore.Http.DefaultHttpContext().Request);
        Assert.Equal(200, response.Status);
        Assert.True(response.BodyJson().GetProperty("paths").TryGetProperty("/api/models/{model}/predict", out _));
    }
}
