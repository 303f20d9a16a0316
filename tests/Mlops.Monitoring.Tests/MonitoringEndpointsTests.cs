using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Core;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Http;
using Mlops.Storage.InMemory;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

public sealed class MonitoringEndpointsTests : IAsyncLifetime
{
    private sealed class Source : IMonitoringSource
    {
        public string? Json { get; set; } = """{"lookback":"P7D"}""";
        public Task<string?> GetMonitoringJsonAsync(string model, CancellationToken cancellationToken) => Task.FromResult(Json);
        public Task<int?> GetServingVersionAsync(string model, CancellationToken cancellationToken) => Task.FromResult<int?>(model == "mdl" ? 1 : null);
    }

    private sealed class Launcher : IMonitorLauncher
    {
        public List<string> Started { get; } = [];
        public Task<string> StartMonitorAsync(string model, CancellationToken cancellationToken) { Started.Add(model); return Task.FromResult($"monitor-{model}-1"); }
    }

    private readonly InMemoryBlobStore _blobs = new();
    private readonly InMemoryTableStore _tables = new();
    private readonly Source _source = new();
    private readonly Launcher _launcher = new();
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        var feedback = new FeedbackStore(_blobs, _tables, new FixedClock(DateTimeOffset.UtcNow));
        builder.Services.AddSingleton(new MonitoringApi(feedback, new MonitoringStore(_blobs, _tables), _launcher, _source));
        _app = builder.Build();
        _app.MapMonitoring();
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static async Task<JsonElement> Body(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    [Fact]
    public async Task PostFeedback_Json_ReceiptWithCountsAndLookbackFromConfig()
    {
        string fresh = PredictionIds.New(DateTimeOffset.UtcNow.AddDays(-1)), stale = PredictionIds.New(DateTimeOffset.UtcNow.AddDays(-8));
        var response = await _client.PostAsync("/api/models/mdl/feedback", new StringContent(
            $$"""{"labels":[{"predictionId":"{{fresh}}","label":1},{"predictionId":"{{stale}}","label":0}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await Body(response);
        Assert.Equal(1, receipt.GetProperty("accepted").GetInt32());
        Assert.Equal(1, receipt.GetProperty("unknown").GetInt32()); // outside the configured 7-day lookback
    }

    [Fact]
    public async Task PostFeedback_Csv_Accepted()
    {
        var response = await _client.PostAsync("/api/models/mdl/feedback", new StringContent("predictionId,label\nabc,1\n", Encoding.UTF8, "text/csv"));
        Assert.Equal(1, (await Body(response)).GetProperty("accepted").GetInt32());
    }

    [Theory]
    [InlineData("/api/models/mdl/feedback", "{\"labels\":5}", 400, "monitoring.feedback")]
    [InlineData("/api/models/mdl/feedback", "{oops", 400, "monitoring.feedback")]
    [InlineData("/api/models/bad%20name/feedback", "{}", 400, "dataset.invalid_name")]
    [InlineData("/api/models/other/monitor", "", 404, "monitoring.nothing_served")]
    public async Task Post_BadInput_ErrorShape(string path, string body, int status, string code)
    {
        var response = await _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await Body(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task PostMonitor_Starts_BadConfigIs400()
    {
        var started = await _client.PostAsync("/api/models/mdl/monitor", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("monitor-mdl-1", (await Body(started)).GetProperty("runId").GetString());
        Assert.Equal(["mdl"], _launcher.Started);

        _source.Json = """{"window":"forever"}""";
        var bad = await _client.PostAsync("/api/models/mdl/monitor", null);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("monitoring.window", (await Body(bad)).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task GetMonitoring_ListsRunsAndServesReports()
    {
        var reference = BinaryReference(2000);
        await AppendAsync(_blobs, T0, Line(T0, 1, [new Dictionary<string, object?> { ["x0"] = 3.0, ["x1"] = 3.0, ["color"] = "red" }], [0.9], ["id"]));
        var window = await new Window.PredictionLogReader(_blobs).ReadAsync("mdl", reference, T0, T0.AddHours(1));
        var report = Reports.MonitorRunner.Compute("mdl", "run-1", reference, 1, window, new Dictionary<string, string>(), T0.AddHours(1), new Policy.MonitoringOptions());
        await new MonitoringStore(_blobs, _tables).SaveReportAsync(report);

        var list = await Body(await _client.GetAsync("/api/models/mdl/monitoring"));
        Assert.Equal("run-1", list.GetProperty("runs")[0].GetProperty("runId").GetString());
        var json = await Body(await _client.GetAsync("/api/models/mdl/monitoring/run-1"));
        Assert.Equal(1, json.GetProperty("window").GetProperty("rows").GetInt64());
        var html = await _client.GetAsync("/api/models/mdl/monitoring/run-1/report.html");
        Assert.Equal("text/html; charset=utf-8", html.Content.Headers.ContentType!.ToString());
        Assert.Contains("<svg", await html.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/models/mdl/monitoring/nope")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/api/models/mdl/monitoring?take=0")).StatusCode);
        var notANumber = await _client.GetAsync("/api/models/mdl/monitoring?take=ten");
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        Assert.Equal("request.invalid_query", (await Body(notANumber)).GetProperty("error").GetProperty("code").GetString()); // a typed body, not an empty binding failure
    }

    [Fact]
    public async Task IngestDroppedCsv_ModelFromPath_OtherBlobsIgnored()
    {
        var api = _app.Services.GetRequiredService<MonitoringApi>();
        await _blobs.WriteAsync(MonitoringApi.DropContainer, "mdl/day1.csv", "predictionId,label\nx,1\ny,0\n"u8.ToArray());
        await _blobs.WriteAsync(MonitoringApi.DropContainer, "mdl/notes.txt", "hello"u8.ToArray());
        var receipt = await api.IngestDroppedCsvAsync(_blobs, "mdl/day1.csv");
        Assert.Equal(("mdl", 2), (receipt!.Model, receipt.Accepted));
        Assert.Null(await api.IngestDroppedCsvAsync(_blobs, "mdl/notes.txt"));
        Assert.Null(await api.IngestDroppedCsvAsync(_blobs, "mdl/sub/day1.csv"));
    }
}
