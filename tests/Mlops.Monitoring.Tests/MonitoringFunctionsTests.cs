using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Core;
using Mlops.Functions.Functions.Http;
using Mlops.Functions.Handlers;
using Mlops.Functions.Hosting;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Http;
using Mlops.Storage.InMemory;
using Mlops.Testing;
using static Mlops.Monitoring.Tests.Fixtures;

namespace Mlops.Monitoring.Tests;

/// <summary>
/// The app's monitoring functions (<see cref="MonitoringFunctions"/> over <see cref="MonitoringHandler"/>) served
/// in process on a test server, with the app's error mapping.
/// </summary>
public sealed class MonitoringFunctionsTests : IAsyncLifetime
{
    private sealed class Source : IMonitoringSource
    {
        public string? Json { get; set; } = """{"lookback":"P7D"}""";

        public Task<string?> GetMonitoringJsonAsync(string model, CancellationToken cancellationToken) =>
            Task.FromResult(Json);

        public Task<int?> GetServingVersionAsync(string model, CancellationToken cancellationToken) =>
            Task.FromResult<int?>(model == "mdl" ? 1 : null);

        public Task<bool> ModelExistsAsync(string model, CancellationToken cancellationToken) =>
            Task.FromResult(model is "mdl" or "other");
    }

    private sealed class Launcher : IMonitorLauncher
    {
        public List<string> Started { get; } = [];

        public Task<string> StartMonitorAsync(string model, CancellationToken cancellationToken)
        {
            Started.Add(model);
            return Task.FromResult($"monitor-{model}-1");
        }
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
        var clock = new FixedClock(DateTimeOffset.UtcNow);
        var feedback = new FeedbackStore(_blobs, _tables, clock);
        var store = new MonitoringStore(_blobs, _tables);
        await store.WriteReferenceAsync("mdl", 1, BinaryReference(200)); // classes 0 and 1
        builder.Services.AddSingleton(
            new MonitoringHandler(
                feedback,
                store,
                _source,
                new Window.IssuedPredictions(_blobs, logDelay: TimeSpan.Zero),
                clock
            )
        );
        _app = builder.Build();
        _app.MapFunctions(e => ErrorMiddleware.Map(e), Json.Options, typeof(MonitoringFunctions));
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static async Task<JsonElement> Body(HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    /// <summary>Logs one served prediction per id (as the serving library would), so feedback may refer to
    /// them.</summary>
    private async Task ServeAsync(DateTimeOffset at, params string[] ids)
    {
        var rows = ids.Select(_ => new Dictionary<string, object?>
            {
                ["x0"] = 1.0,
                ["x1"] = 2.0,
                ["color"] = "red",
            })
            .ToList();
        await AppendAsync(_blobs, at, Line(at, 1, rows, ids.Select(_ => 0.5).ToList(), ids));
    }

    [Fact]
    public async Task PostFeedback_Json_ReceiptWithCountsAndLookbackFromConfig()
    {
        string fresh = PredictionIds.New(DateTimeOffset.UtcNow.AddDays(-1)),
            stale = PredictionIds.New(DateTimeOffset.UtcNow.AddDays(-8));
        await ServeAsync(DateTimeOffset.UtcNow.AddDays(-1), fresh);
        var response = await _client.PostAsync(
            "/api/models/mdl/feedback",
            new StringContent(
                $$"""{"labels":[{"predictionId":"{{fresh}}","label":1},{"predictionId":"{{stale}}","label":0}]}""",
                Encoding.UTF8,
                "application/json"
            )
        );
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await Body(response);
        Assert.Equal(1, receipt.GetProperty("accepted").GetInt32());
        Assert.Equal(1, receipt.GetProperty("unknown").GetInt32()); // outside the configured 7-day lookback
    }

    [Fact]
    public async Task PostFeedback_Csv_Accepted()
    {
        await ServeAsync(DateTimeOffset.UtcNow.AddHours(-2), "abc");
        var response = await _client.PostAsync(
            "/api/models/mdl/feedback",
            new StringContent("predictionId,label\nabc,1\n", Encoding.UTF8, "text/csv")
        );
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
    public async Task StartMonitor_Starts_BadConfigIs400()
    {
        // The function hands the handler a launcher over its durable client; here the handler gets the recording one.
        var handler = _app.Services.GetRequiredService<MonitoringHandler>();
        var started = await handler.StartAsync("mdl", _launcher);
        Assert.Equal(202, started.Status);
        Assert.Equal("monitor-mdl-1", started.BodyJson().GetProperty("runId").GetString());
        Assert.Equal(["mdl"], _launcher.Started);

        _source.Json = """{"window":"forever"}""";
        var e = await Assert.ThrowsAnyAsync<Mlops.Core.Errors.MlopsException>(() =>
            handler.StartAsync("mdl", _launcher)
        );
        var (status, body) = ErrorMiddleware.Map(e);
        Assert.Equal(400, status);
        Assert.Contains("monitoring.window", body.Error.Message);
    }

    [Fact]
    public async Task GetMonitoring_ListsRunsAndServesReports()
    {
        var reference = BinaryReference(2000);
        await AppendAsync(
            _blobs,
            T0,
            Line(
                T0,
                1,
                [
                    new Dictionary<string, object?>
                    {
                        ["x0"] = 3.0,
                        ["x1"] = 3.0,
                        ["color"] = "red",
                    },
                ],
                [0.9],
                ["id"]
            )
        );
        var window = await new Window.PredictionLogReader(_blobs).ReadAsync("mdl", reference, T0, T0.AddHours(1));
        var report = Reports.MonitorRunner.Compute(
            "mdl",
            "run-1",
            reference,
            1,
            window,
            new Dictionary<string, string>(),
            T0.AddHours(1),
            new Policy.MonitoringOptions()
        );
        await new MonitoringStore(_blobs, _tables).SaveReportAsync(report);

        var list = await Body(await _client.GetAsync("/api/models/mdl/monitoring"));
        Assert.Equal("run-1", list.GetProperty("runs")[0].GetProperty("runId").GetString());
        var json = await Body(await _client.GetAsync("/api/models/mdl/monitoring/run-1"));
        Assert.Equal(1, json.GetProperty("window").GetProperty("rows").GetInt64());
        var html = await _client.GetAsync("/api/models/mdl/monitoring/run-1/report.html");
        Assert.Equal("text/html; charset=utf-8", html.Content.Headers.ContentType!.ToString());
        Assert.Contains("<svg", await html.Content.ReadAsStringAsync());
        // Served on the dashboard's origin: no script may run in it, and nothing is sniffed (issue 19).
        Assert.Equal(
            MonitoringHandler.ReportPolicy,
            string.Join(";", html.Headers.GetValues("Content-Security-Policy"))
        );
        Assert.Equal("nosniff", string.Join(",", html.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal(
            "nosniff",
            string.Join(
                ",",
                (await _client.GetAsync("/api/models/mdl/monitoring")).Headers.GetValues("X-Content-Type-Options")
            )
        );
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/models/mdl/monitoring/nope")).StatusCode);
        Assert.Equal(
            HttpStatusCode.BadRequest,
            (await _client.GetAsync("/api/models/mdl/monitoring?take=0")).StatusCode
        );
        var notANumber = await _client.GetAsync("/api/models/mdl/monitoring?take=ten");
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        Assert.Equal(
            "request.invalid_query",
            (await Body(notANumber)).GetProperty("error").GetProperty("code").GetString()
        ); // a typed body, not an empty binding failure
    }

    [Fact]
    public async Task IngestDroppedCsv_ModelFromPath_OtherBlobsIgnored()
    {
        var api = _app.Services.GetRequiredService<MonitoringHandler>().PlainApi;
        await ServeAsync(DateTimeOffset.UtcNow.AddMinutes(-30), "x", "y");
        await _blobs.WriteAsync(
            MonitoringApi.DropContainer,
            "mdl/day1.csv",
            "predictionId,label\nx,1\ny,0\n"u8.ToArray()
        );
        await _blobs.WriteAsync(MonitoringApi.DropContainer, "mdl/notes.txt", "hello"u8.ToArray());
        var receipt = await api.IngestDroppedCsvAsync(_blobs, "mdl/day1.csv");
        Assert.Equal(("mdl", 2), (receipt!.Model, receipt.Accepted));
        Assert.Null(await api.IngestDroppedCsvAsync(_blobs, "mdl/notes.txt"));
        Assert.Null(await api.IngestDroppedCsvAsync(_blobs, "mdl/sub/day1.csv"));
    }

    private Task<HttpResponseMessage> PostLabelsAsync(string model, string labelsJson, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/models/{model}/feedback")
        {
            Content = new StringContent($$"""{"labels":[{{labelsJson}}]}""", Encoding.UTF8, "application/json"),
        };
        if (key is not null)
            request.Headers.Add("x-functions-key", key);
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task PostFeedback_IdsNeverIssued_CountedUnknown_NotStoredNorCountedAsNewLabels()
    {
        var at = DateTimeOffset.UtcNow.AddMinutes(-10);
        string served = PredictionIds.New(at),
            forged = PredictionIds.New(at),
            otherModel = PredictionIds.New(at);
        await ServeAsync(at, served);
        await _blobs.AppendAsync(
            "predictions",
            $"other/{at.UtcDateTime:yyyy/MM/dd/HH}/host-0.jsonl",
            Encoding.UTF8.GetBytes(
                Line(at, 1, [new Dictionary<string, object?> { ["x0"] = 1.0 }], [0.5], [otherModel]) + "\n"
            )
        );

        var response = await PostLabelsAsync(
            "mdl",
            $$"""{"predictionId":"{{served}}","label":1},{"predictionId":"{{forged}}","label":0},{"predictionId":"{{otherModel}}","label":0},{"predictionId":"client-made-up","label":1}"""
        );

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await Body(response);
        Assert.Equal(1, receipt.GetProperty("accepted").GetInt32());
        Assert.Equal(3, receipt.GetProperty("unknown").GetInt32()); // forged, another model's, and a client id nobody served
        var feedback = new FeedbackStore(_blobs, _tables, new FixedClock(DateTimeOffset.UtcNow));
        Assert.Equal(1, await feedback.CountLabelsSinceAsync("mdl", DateTimeOffset.UtcNow.AddDays(-1)));
        var stored = await feedback.ReadLabelsAsync(
            "mdl",
            DateTimeOffset.UtcNow.AddDays(-1),
            DateTimeOffset.UtcNow.AddMinutes(1)
        );
        Assert.Equal([served], stored.Keys);
    }

    [Theory]
    [InlineData("7", "labels[1]: label '7' is not one of the model's classes (0, 1)")]
    [InlineData("1e400", "labels[1]: label 1e400 is not a finite number")]
    [InlineData("\"benign\"", "labels[1]: label 'benign' is not one of the model's classes")]
    public async Task PostFeedback_LabelOutsideTheModelsClasses_400NamingTheRow_NothingStored(
        string label,
        string message
    )
    {
        var at = DateTimeOffset.UtcNow.AddMinutes(-10);
        string a = PredictionIds.New(at),
            b = PredictionIds.New(at);
        await ServeAsync(at, a, b);

        var response = await PostLabelsAsync(
            "mdl",
            $$"""{"predictionId":"{{a}}","label":1.0},{"predictionId":"{{b}}","label":{{label}}}"""
        );

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await Body(response)).GetProperty("error");
        Assert.Equal("monitoring.feedback_invalid_label", error.GetProperty("code").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal(
            0,
            await new FeedbackStore(_blobs, _tables, new FixedClock(DateTimeOffset.UtcNow)).CountLabelsSinceAsync(
                "mdl",
                DateTimeOffset.UtcNow.AddDays(-1)
            )
        );
    }

    [Fact]
    public async Task PostFeedback_ModelThatDoesNotExist_404()
    {
        var response = await PostLabelsAsync("ghost", """{"predictionId":"x","label":1}""");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(
            "monitoring.model_not_found",
            (await Body(response)).GetProperty("error").GetProperty("code").GetString()
        );
    }

    [Fact]
    public async Task PostFeedback_OverTheKeysDailyCap_429_OtherKeysUnaffected_ProvenanceRecorded()
    {
        _source.Json = """{"lookback":"P7D","feedbackPerKeyPerDay":2}""";
        var at = DateTimeOffset.UtcNow.AddMinutes(-10);
        var ids = Enumerable.Range(0, 4).Select(_ => PredictionIds.New(at)).ToArray();
        await ServeAsync(at, ids);

        Assert.Equal(
            HttpStatusCode.OK,
            (
                await PostLabelsAsync(
                    "mdl",
                    $$"""{"predictionId":"{{ids[0]}}","label":1},{"predictionId":"{{ids[1]}}","label":0}""",
                    "key-a"
                )
            ).StatusCode
        );
        var over = await PostLabelsAsync("mdl", $$"""{"predictionId":"{{ids[2]}}","label":1}""", "key-a");
        Assert.Equal((HttpStatusCode)429, over.StatusCode);
        Assert.Equal(
            "monitoring.feedback_quota",
            (await Body(over)).GetProperty("error").GetProperty("code").GetString()
        );
        Assert.Equal(
            HttpStatusCode.OK,
            (await PostLabelsAsync("mdl", $$"""{"predictionId":"{{ids[3]}}","label":1}""", "key-b")).StatusCode
        );

        var records = await new FeedbackStore(
            _blobs,
            _tables,
            new FixedClock(DateTimeOffset.UtcNow)
        ).ReadLabelRecordsAsync("mdl", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(KeyFingerprint.Of("key-a"), records[ids[0]].Key);
        Assert.Equal(KeyFingerprint.Of("key-b"), records[ids[3]].Key);
        Assert.False(records.ContainsKey(ids[2]));
        Assert.DoesNotContain("key-a", records[ids[0]].Key!.Replace("key-", "")); // a fingerprint, never the key itself
    }

    [Theory]
    [InlineData("/api/models/mdl/monitoring/a..b")]
    [InlineData("/api/models/mdl/monitoring/%2Fetc")]
    [InlineData("/api/models/mdl/monitoring/caf%C3%A9")]
    [InlineData("/api/models/mdl/monitoring/run%20one/report.html")]
    public async Task GetReport_RunIdNotShapedLikeARunId_400(string path)
    {
        var response = await _client.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode); // before: looked up as given, 404
        Assert.Equal(
            "monitoring.bad_run_id",
            (await Body(response)).GetProperty("error").GetProperty("code").GetString()
        );
    }
}
