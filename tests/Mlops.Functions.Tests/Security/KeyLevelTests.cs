using System.Net;
using Mlops.Functions.Handlers;
using Mlops.Functions.Tests.EndToEnd;
using Xunit;

namespace Mlops.Functions.Tests.Security;

/// <summary>
/// Both key levels on every /api route, generated from the app's function attributes so that a new route cannot be
/// forgotten, enforced by the host that runs the worker: no key → 401; a function key on an admin route is refused
/// (401, as Azure's host answers; 403 accepted too); the master key gets past the check.
/// </summary>
public sealed class KeyLevelTests(FunctionHostFixture host) : IClassFixture<FunctionHostFixture>
{
    private static readonly IReadOnlyList<HttpRoute> Declared = OpenApiDocument.Routes(
        typeof(Mlops.Functions.Hosting.AppServices).Assembly
    );

    /// <summary>The declared routes with parameters filled by probe values, so each route can be requested.</summary>
    private static IEnumerable<(
        string Method,
        string Path,
        Microsoft.Azure.Functions.Worker.AuthorizationLevel Level
    )> Routes() =>
        Declared
            .Where(r => r.Route.StartsWith("api/", StringComparison.Ordinal))
            .Select(r =>
                (
                    r.Method,
                    "/"
                        + System.Text.RegularExpressions.Regex.Replace(
                            r.Route,
                            @"\{(\w+)(:[^{}]*(\{[^{}]*\}[^{}]*)*)?\}",
                            m => m.Groups[2].Value.Contains("int") ? "1" : "x-probe"
                        ),
                    r.Level
                )
            );

    [Fact]
    public async Task EveryApiRoute_NeedsAKey_AndEveryWriteButPredictNeedsTheMasterKey()
    {
        var routes = Routes().ToList();
        Assert.True(routes.Count > 20, $"expected the whole route table, found {routes.Count}");
        foreach (var (method, path, required) in routes)
        {
            if (path == "/api/health")
            {
                Assert.Equal(Microsoft.Azure.Functions.Worker.AuthorizationLevel.Anonymous, required);
                continue;
            }

            var anonymous = await host.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.True(
                anonymous.StatusCode == HttpStatusCode.Unauthorized,
                $"{method} {path} without a key: {anonymous.StatusCode}"
            );

            var withFunctionKey = await host.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            if (required == Microsoft.Azure.Functions.Worker.AuthorizationLevel.Admin)
                Assert.True(
                    withFunctionKey.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden,
                    $"{method} {path} with the function key: {withFunctionKey.StatusCode}"
                );
            else
                Assert.True(
                    withFunctionKey.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                    $"{method} {path} refused the function key"
                );

            var withMasterKey = await host.Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.True(
                withMasterKey.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                $"{method} {path} refused the master key"
            );
        }
        Assert.Contains(routes, r =>
            r.Level == Microsoft.Azure.Functions.Worker.AuthorizationLevel.Admin
            && r.Path.StartsWith("/api/orchestrations", StringComparison.Ordinal)
        );
    }

    [Fact]
    public async Task OpenApiDocument_ListsEveryApiRoute_WithTheKeyLevelTheHostEnforces()
    {
        var doc = System
            .Text.Json.JsonDocument.Parse(await host.Anonymous.GetStringAsync("/openapi/v1.json"))
            .RootElement;
        var schemes = doc.GetProperty("components").GetProperty("securitySchemes");
        Assert.True(schemes.TryGetProperty("functionKey", out _) && schemes.TryGetProperty("masterKey", out _));
        var paths = doc.GetProperty("paths");
        foreach (var route in Declared)
        {
            var (documented, _) = OpenApiDocument.PathOf(route.Route);
            Assert.True(
                paths.TryGetProperty(documented, out var item),
                $"{route.Route} is not in the OpenAPI document"
            );
            Assert.True(
                item.TryGetProperty(route.Method.ToLowerInvariant(), out var op),
                $"{route.Method} {route.Route} is not in the OpenAPI document"
            );
            if (route.Level == Microsoft.Azure.Functions.Worker.AuthorizationLevel.Anonymous)
                continue;
            string expected =
                route.Level == Microsoft.Azure.Functions.Worker.AuthorizationLevel.Admin ? "masterKey" : "functionKey";
            Assert.Contains(expected, op.GetProperty("security").ToString());
        }
    }

    [Fact]
    public async Task StartingAnOrchestrationByNameWithRawInput_IsNotARoute()
    {
        var response = await host.Admin.PostAsync(
            "/api/orchestrations/TrainingPipeline?instanceId=x",
            new StringContent(
                """{"dataset":"bc","trigger":{"kind":"drop","blobName":"bc/../../azure-webjobs-secrets/e2e/host.json"}}"""
            )
        );
        Assert.True(
            response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed,
            $"got {response.StatusCode}"
        );
    }

    [Fact]
    public async Task ManagementUris_AreRelative_TheHostHeaderIsNeverReflected()
    {
        await host.Storage.Blobs.WriteAsync(
            "incoming",
            "host-header/mlops.json",
            """{"target":"label","task":"binary"}"""u8.ToArray()
        );
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/pipelines/host-header/run");
        request.Headers.Host = "evil.example.com";
        var response = await host.Admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith("/api/orchestrations/", response.Headers.Location!.OriginalString);
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("evil.example.com", body);
        Assert.Contains("\"statusQueryGetUri\":\"/api/orchestrations/", body);
    }

    [Fact]
    public async Task RaiseEvent_ReadsTheBodyStrictly_BadJsonIs400_GoodJsonIsDelivered()
    {
        var client = host.Client;
        string id = await client.ScheduleNewOrchestrationInstanceAsync(
            "TrainingPipeline",
            null,
            new Microsoft.DurableTask.StartOrchestrationOptions("event-target")
            {
                StartAt = DateTimeOffset.UtcNow.AddHours(1),
            }
        );
        var bad = await host.Admin.PostAsync(
            $"/api/orchestrations/{id}/raiseEvent/approval",
            new StringContent("{\"by\":", System.Text.Encoding.UTF8, "application/json")
        );
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"code\"", await bad.Content.ReadAsStringAsync());
        var good = await host.Admin.PostAsync(
            $"/api/orchestrations/{id}/raiseEvent/approval",
            new StringContent("{\"approved\":true}", System.Text.Encoding.UTF8, "application/json")
        );
        Assert.Equal(HttpStatusCode.Accepted, good.StatusCode);
        await client.TerminateInstanceAsync(id);
    }
}
