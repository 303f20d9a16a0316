using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mlops.Functions.CustomHandler;
using Mlops.Functions.Hosting;
using Mlops.Storage.Azure;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.CustomHandler;

/// <summary>
/// The Azure Functions custom-handler contract: the manifests the Functions host reads, and the invocation JSON it
/// POSTs to /{FunctionName} (shape from the custom-handler documentation), answered by the same handlers.
/// </summary>
public sealed class CustomHandlerContractTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Root = AzuriteInstance.RepoRoot();

    [Fact]
    public void ParseTimerInvocation_DocumentedShape_GivesTickAndPastDue()
    {
        var json = """
            {"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-01-01T00:00:00Z","Next":"2026-01-02T02:00:00Z"},"IsPastDue":true}},
             "Metadata":{"sys":{"MethodName":"ScheduledRetraining","UtcNow":"2026-01-02T02:00:00.4567Z","RandGuid":"2c7b8d3c-2a08-4a3a-a2a5-1f0b2e7c9a11"}}}
            """;
        var tick = CustomHandlerEndpoints.ParseTimerInvocation(JsonDocument.Parse(json).RootElement);
        Assert.True(tick.IsPastDue);
        Assert.Equal(DateTimeOffset.Parse("2026-01-02T02:00:00Z"), tick.ScheduledFor);
    }

    [Fact]
    public async Task PostBlobInvocation_UnderFunctionsHost_StartsTheSameRunAsTheLocalTrigger()
    {
        int port = AzuriteInstance.FreePort();
        var settings = new HostSettings { StorageConnectionString = azurite.ConnectionString, CustomHandlerPort = port, HostId = "ch" };
        await using var app = await FunctionApp.BuildAsync(settings);
        await app.StartAsync();
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        await storage.Blobs.WriteAsync("incoming", "iris/mlops.json", """{"target":"target","task":"multiclass"}"""u8.ToArray());
        string etag = await storage.Blobs.WriteAsync("incoming", "iris/iris.csv", await File.ReadAllBytesAsync(Path.Combine(Root, "tests", "data", "sk_iris.csv")));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        // Metadata values arrive JSON-encoded, as the Functions host sends them.
        string invocation = JsonSerializer.Serialize(new
        {
            Data = new { blob = "" },
            Metadata = new Dictionary<string, object>
            {
                ["dataset"] = "\"iris\"", ["name"] = "\"iris.csv\"", ["Uri"] = "\"http://127.0.0.1/devstoreaccount1/incoming/iris/iris.csv\"",
                ["Properties"] = new { ETag = etag, Length = 2777 },
                ["sys"] = new { MethodName = "DataDropped", UtcNow = DateTime.UtcNow.ToString("o"), RandGuid = Guid.NewGuid().ToString() },
            },
        });
        var response = await http.PostAsync("/DataDropped", new StringContent(invocation, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        string id = body.GetProperty("ReturnValue").GetString()!;
        Assert.Equal(Pipelines.Launching.PipelineInstanceIds.ForDrop("iris", "iris/iris.csv", etag), id);
        Assert.True(body.GetProperty("Outputs").ValueKind == JsonValueKind.Object);
        Assert.NotEmpty(body.GetProperty("Logs").EnumerateArray());

        // Delivered twice (the Functions host retries): still one run.
        var again = await http.PostAsync("/DataDropped", new StringContent(invocation, Encoding.UTF8, "application/json"));
        Assert.Equal(id, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ReturnValue").GetString());

        // Under the Functions host, keys are the Functions host's job: /api is not re-checked here.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/pipelines/iris/runs")).StatusCode);
        await app.StopAsync();
    }

}
