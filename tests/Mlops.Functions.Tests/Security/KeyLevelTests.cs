using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Functions.Security;
using Mlops.Functions.Tests.EndToEnd;
using Xunit;

namespace Mlops.Functions.Tests.Security;

/// <summary>
/// Both key levels on every /api route, generated from the host's own route table so that a new route cannot be
/// forgotten: no key → 401; a function key on a state-changing route → 403; the master key gets past the check.
/// </summary>
public sealed class KeyLevelTests(FunctionHostFixture host) : IClassFixture<FunctionHostFixture>
{
    /// <summary>The route table with parameters filled by probe values, so each route can be requested.</summary>
    private IEnumerable<(string Method, string Path)> Routes() => host.ApiRoutes().Select(r =>
        (r.Method, System.Text.RegularExpressions.Regex.Replace(r.Pattern, @"\{(\w+)(:[^}]*)?\}", m => m.Groups[2].Value.Contains("int") ? "1" : "x-probe")));

    [Fact]
    public async Task EveryApiRoute_NeedsAKey_AndEveryWriteButPredictNeedsTheMasterKey()
    {
        var routes = Routes().ToList();
        Assert.True(routes.Count > 20, $"expected the whole route table, found {routes.Count}");
        foreach (var (method, path) in routes)
        {
            var required = FunctionKeyMiddleware.Required(method, path);
            if (path == "/api/health") { Assert.Equal(KeyLevel.None, required); continue; }

            var anonymous = await host.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.True(anonymous.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} without a key: {anonymous.StatusCode}");

            var withFunctionKey = await host.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            if (required == KeyLevel.Admin)
                Assert.True(withFunctionKey.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} with the function key: {withFunctionKey.StatusCode}");
            else
                Assert.True(withFunctionKey.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {path} refused the function key");

            var withMasterKey = await host.Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.True(withMasterKey.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {path} refused the master key");
        }
        Assert.Contains(routes, r => FunctionKeyMiddleware.Required(r.Method, r.Path) == KeyLevel.Admin && r.Path.StartsWith("/api/orchestrations", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpenApiDocument_ListsEveryApiRoute_WithTheKeyLevelTheHostEnforces()
    {
        var doc = System.Text.Json.JsonDocument.Parse(await host.Anonymous.GetStringAsync("/openapi/v1.json")).RootElement;
        var schemes = doc.GetProperty("components").GetProperty("securitySchemes");
        Assert.True(schemes.TryGetProperty("functionKey", out _) && schemes.TryGetProperty("masterKey", out _));
        var paths = doc.GetProperty("paths");
        foreach (var (method, pattern) in host.ApiRoutes())
        {
            string documented = System.Text.RegularExpressions.Regex.Replace(pattern, @"\{(\w+)(:[^}]*)?\}", "{$1}");
            Assert.True(paths.TryGetProperty(documented, out var item), $"{pattern} is not in the OpenAPI document");
            Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var op), $"{method} {pattern} is not in the OpenAPI document");
            if (documented == "/api/health") continue;
            string expected = FunctionKeyMiddleware.Required(method, documented) == KeyLevel.Admin ? "masterKey" : "functionKey";
            Assert.Contains(expected, op.GetProperty("security").ToString());
        }
    }

    [Fact]
    public async Task StartingAnOrchestrationByNameWithRawInput_IsNotARoute()
    {
        var response = await host.Admin.PostAsync("/api/orchestrations/TrainingPipeline?instanceId=x",
            new StringContent("""{"dataset":"bc","trigger":{"kind":"drop","blobName":"bc/../../azure-webjobs-secrets/e2e/host.json"}}"""));
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"got {response.StatusCode}");
    }

    [Fact]
    public async Task ManagementUris_AreRelative_TheHostHeaderIsNeverReflected()
    {
        await host.Storage.Blobs.WriteAsync("incoming", "host-header/mlops.json", """{"target":"label","task":"binary"}"""u8.ToArray());
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
        var client = host.App.Services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>();
        string id = await client.ScheduleNewOrchestrationInstanceAsync("TrainingPipeline", null,
            new Microsoft.DurableTask.StartOrchestrationOptions("event-target") { StartAt = DateTimeOffset.UtcNow.AddHours(1) });
        var bad = await host.Admin.PostAsync($"/api/orchestrations/{id}/raiseEvent/approval", new StringContent("{\"by\":", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"code\"", await bad.Content.ReadAsStringAsync());
        var good = await host.Admin.PostAsync($"/api/orchestrations/{id}/raiseEvent/approval", new StringContent("{\"approved\":true}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, good.StatusCode);
        await client.TerminateInstanceAsync(id);
    }

    [Fact]
    public void Keys_FunctionAndMasterGrantTheirLevels_Only()
    {
        var keys = host.App.Services.GetRequiredService<FunctionKeys>();
        Assert.Equal(KeyLevel.Admin, keys.LevelOf(FunctionHostFixture.MasterKey));
        Assert.Equal(KeyLevel.Function, keys.LevelOf(FunctionHostFixture.Key));
        Assert.Equal(KeyLevel.None, keys.LevelOf("test-function-ke"));
        Assert.Equal(KeyLevel.None, keys.LevelOf(null));
    }
}
