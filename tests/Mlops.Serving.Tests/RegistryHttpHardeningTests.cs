using System.Text;
using System.Text.Json;
using Xunit;

namespace Mlops.Serving.Tests;

/// <summary>Bad bodies and query values on the registry and traffic routes: a 400 with an
/// <c>{"error":{code,message}}</c> body, never an empty one.</summary>
public sealed class RegistryHttpHardeningTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private ServingHost Host => fixture.Host;

    private Task<string> SetUpModelAsync() => fixture.ConstantModelAsync("r", 2);

    private async Task<(int Status, string Code, string Message)> SendAsync(
        HttpMethod method,
        string path,
        string? body = null
    )
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Host.Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrEmpty(text), $"{method} {path}: {(int)response.StatusCode} with an empty body");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        return (
            (int)response.StatusCode,
            error.GetProperty("code").GetString()!,
            error.GetProperty("message").GetString()!
        );
    }

    [Theory]
    [InlineData("promote", "{", "request.invalid_body")]
    [InlineData("promote", "not json", "request.invalid_body")]
    [InlineData("promote", "", "request.invalid_body")]
    [InlineData("promote", """{"version":"two"}""", "request.invalid_body")]
    [InlineData("promote", """{"version":1e400}""", "request.invalid_body")]
    [InlineData("promote", """{"version":2,"isAdmin":true}""", "request.invalid_body")]
    [InlineData("promote", """{"reason":"no version"}""", "request.invalid_body")]
    [InlineData("promote", """{"version":2,"reason":"\ud800"}""", "request.invalid_body")]
    [InlineData("aliases/candidate", "[1]", "request.invalid_body")]
    [InlineData("aliases/candidate", """{"version":-3}""", "request.invalid_body")]
    [InlineData("rollback", """{"reason":1}""", "request.invalid_body")]
    public async Task PostBadBody_400WithErrorBody(string route, string body, string code)
    {
        string model = await SetUpModelAsync();
        var (status, actual, _) = await SendAsync(HttpMethod.Post, $"/api/models/{model}/{route}", body);
        Assert.Equal(400, status);
        Assert.Equal(code, actual);
    }

    [Theory]
    [InlineData("""{"routes":[{"version":1,"weight":1e400}]}""")]
    [InlineData("""{"routes":[{"version":1,"weight":100,"extra":1}]}""")]
    [InlineData("""{"autoRollback":{"maxErrorRate":1e400}}""")]
    [InlineData("""{"autoRollback":{"maxErrorRate":"NaN"}}""")]
    [InlineData("""{"routes":"all"}""")]
    public async Task PutTrafficBadBody_400WithErrorBody(string body)
    {
        string model = await SetUpModelAsync();
        var (status, code, _) = await SendAsync(HttpMethod.Put, $"/api/models/{model}/traffic", body);
        Assert.Equal(400, status);
        Assert.Equal("request.invalid_body", code);
    }

    [Theory]
    [InlineData("history?at=yesterday", "at")]
    [InlineData("history?at=1e400", "at")]
    [InlineData("compare?a=x&b=2", "a")]
    [InlineData("compare?a=1", "b")]
    public async Task GetBadQuery_400NamingTheParameter(string pathAndQuery, string parameter)
    {
        string model = await SetUpModelAsync();
        var (status, code, message) = await SendAsync(HttpMethod.Get, $"/api/models/{model}/{pathAndQuery}");
        Assert.Equal(400, status);
        Assert.Equal("request.invalid_query", code);
        Assert.Contains($"?{parameter}=", message);
    }

    [Fact]
    public async Task InvalidModelName_400StatingTheRule()
    {
        var (status, code, _) = await SendAsync(HttpMethod.Get, "/api/models/Bad.Name");
        Assert.Equal(400, status);
        Assert.Equal("dataset.invalid_name", code);
    }

    [Fact]
    public async Task RegistryAndTrafficErrors_ReachTheErrorMiddlewareAsTypedExceptions()
    {
        string model = await SetUpModelAsync();
        await SendAsync(HttpMethod.Get, $"/api/models/{model}/versions/9");
        await SendAsync(HttpMethod.Put, $"/api/models/{model}/traffic", """{"routes":[{"version":1,"weight":50}]}""");

        Assert.Contains(Host.ErrorsWritten, e => e.Status == 404 && e.Message.Contains(model));
        Assert.Contains(Host.ErrorsWritten, e => e.Code == "registry.invalid_traffic" && e.Message.Contains(model));
    }
}
