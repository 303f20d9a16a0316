using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Mlops.Host.Http;
using Mlops.Host.Protocol;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>The host against the test app: handshake, routing as the Functions host routes, keys, forwarding,
/// failures.</summary>
[Collection(HostCollection.Name)]
public sealed class HostHttpTests(HostFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<string> FunctionAnswering(string path)
    {
        using var response = await Client.GetAsync(path);
        return (await JsonOf(response)).GetProperty("function").GetString()!;
    }

    [Fact]
    public void StartAsync_TestApp_IndexesEveryFunctionOrderedByName()
    {
        var names = fixture.Host.Functions.Select(f => f.Name).ToList();

        Assert.Equal(names.Order(StringComparer.OrdinalIgnoreCase), names);
        foreach (
            string expected in new[]
            {
                "AaCatchAll",
                "AdminReset",
                "GetThing",
                "GreetingOrchestrator",
                "SayHello",
                "OnIncomingBlob",
                "OnTimer",
                "StartGreeting",
                "Throws",
            }
        )
            Assert.Contains(expected, names);
        Assert.Equal("blobTrigger", fixture.Host.Functions.Single(f => f.Name == "OnIncomingBlob").TriggerType);
        Assert.NotNull(fixture.Host.Worker.WorkerHttpUri); // ASP.NET Core integration: the worker announced HttpUri
        Assert.Equal("api", fixture.Host.RoutePrefix);
    }

    [Fact]
    public async Task Get_CatchAllWhoseNameSortsFirst_TakesTheRouteOfALaterFunction()
    {
        Assert.Equal("AaCatchAll", await FunctionAnswering("api/files/info"));
        Assert.Equal("AaCatchAll", await FunctionAnswering("api/files/a/b"));
    }

    [Fact]
    public async Task Get_RoutesDifferingByConstraint_PickTheFunctionWhoseConstraintsMatch()
    {
        using var byId = await Client.GetAsync("api/items/42");
        var json = await JsonOf(byId);
        Assert.Equal("ItemById", json.GetProperty("function").GetString());
        Assert.Equal(42, json.GetProperty("id").GetInt32());
        Assert.Equal("ItemSpecial", await FunctionAnswering("api/items/special"));
        using var neither = await Client.GetAsync("api/items/other");
        Assert.Equal(HttpStatusCode.NotFound, neither.StatusCode);
    }

    [Fact]
    public async Task Get_RegexConstraint_MatchesOnlyWhatTheRegexAccepts()
    {
        Assert.Equal("Code", await FunctionAnswering("api/codes/ABC"));
        // ASP.NET's regex constraint ignores case (RegexRouteConstraint), under the real host too.
        Assert.Equal("Code", await FunctionAnswering("api/codes/abc"));
        using var digits = await Client.GetAsync("api/codes/AB1");
        using var tooLong = await Client.GetAsync("api/codes/ABCD");
        Assert.Equal(HttpStatusCode.NotFound, digits.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, tooLong.StatusCode);
    }

    [Fact]
    public async Task Send_NoRouteOrMethodMatches_Returns404()
    {
        using var unknown = await Client.GetAsync("api/nothing-here");
        using var wrongMethod = await Client.PostAsync("api/hello", null);
        using var noPrefix = await Client.GetAsync("hello");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, wrongMethod.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noPrefix.StatusCode);
    }

    [Fact]
    public async Task Get_FunctionLevelWithoutOrWithWrongKey_Returns401WithEmptyBody()
    {
        using var none = await Client.GetAsync("api/things/a");
        using var wrong = await Send(HttpMethod.Get, "api/things/a", "not-a-key");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("", await none.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_FunctionLevelWithFunctionOrMasterKey_ReachesTheFunctionWithItsRouteValue()
    {
        using var header = await Send(HttpMethod.Get, "api/things/widget", fixture.Host.FunctionKey);
        using var query = await Client.GetAsync(
            $"api/things/gadget?code={Uri.EscapeDataString(fixture.Host.FunctionKey)}"
        );
        using var master = await Send(HttpMethod.Get, "api/things/gizmo", fixture.Host.MasterKey);

        Assert.Equal("widget", (await JsonOf(header)).GetProperty("name").GetString());
        Assert.Equal("gadget", (await JsonOf(query)).GetProperty("name").GetString());
        Assert.Equal("gizmo", (await JsonOf(master)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Post_AdminLevel_AcceptsOnlyTheMasterKey()
    {
        using var function = await Send(HttpMethod.Post, "api/admin/reset", fixture.Host.FunctionKey);
        using var master = await Send(HttpMethod.Post, "api/admin/reset", fixture.Host.MasterKey);

        Assert.Equal(HttpStatusCode.Unauthorized, function.StatusCode);
        Assert.Equal("AdminReset", (await JsonOf(master)).GetProperty("function").GetString());
    }

    [Fact]
    public async Task Get_PerFunctionKey_OpensOnlyItsOwnFunction()
    {
        using var own = await Send(HttpMethod.Get, "api/whoami", HostFixture.WhoAmIKey);
        using var other = await Send(HttpMethod.Get, "api/things/x", HostFixture.WhoAmIKey);

        Assert.Equal("WhoAmI", (await JsonOf(own)).GetProperty("function").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
    }

    [Fact]
    public async Task Get_AnonymousWithAWrongKey_StillReachesTheFunction()
    {
        using var response = await Send(HttpMethod.Get, "api/hello?q=x", "wrong");

        Assert.Equal("x", (await JsonOf(response)).GetProperty("query").GetString());
    }

    [Fact]
    public async Task StartAsync_NewAccount_StoresKeysInTheHostsSecretsLayout()
    {
        var blob = new BlobServiceClient(fixture.Azurite.ConnectionString)
            .GetBlobContainerClient(HostKeys.SecretsContainer)
            .GetBlobClient("host-tests/host.json");
        var secrets = JsonDocument.Parse((await blob.DownloadContentAsync()).Value.Content.ToString()).RootElement;

        Assert.Equal("master", secrets.GetProperty("masterKey").GetProperty("name").GetString());
        Assert.Equal(fixture.Host.MasterKey, secrets.GetProperty("masterKey").GetProperty("value").GetString());
        Assert.False(secrets.GetProperty("masterKey").GetProperty("encrypted").GetBoolean());
        var defaultKey = secrets
            .GetProperty("functionKeys")
            .EnumerateArray()
            .Single(k => k.GetProperty("name").GetString() == "default");
        Assert.Equal(fixture.Host.FunctionKey, defaultKey.GetProperty("value").GetString());
        Assert.NotEqual(fixture.Host.FunctionKey, fixture.Host.MasterKey);
    }

    [Fact]
    public async Task Post_ContentLengthOver100MB_Returns413WithoutReadingTheBody()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, fixture.Host.Port);
        var stream = socket.GetStream();
        string head =
            $"POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {HttpFront.MaxRequestBodySize + 1}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var buffer = new byte[256];
        int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.StartsWith("HTTP/1.1 413", Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task Get_FunctionThrows_Returns500()
    {
        using var response = await Client.GetAsync("api/throws");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains(fixture.Log, line =>
            line.Contains("Throws failed: This function always fails.", StringComparison.Ordinal)
        );
    }

    [Fact]
    public async Task Post_Echo_ForwardsMethodBodyHeadersAndQueryToTheWorker()
    {
        var body = new byte[300_000];
        Random.Shared.NextBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/echo?a=1&b=two")
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new("application/octet-stream");
        request.Headers.Add("x-test", "forwarded");

        using var response = await Client.SendAsync(request);
        var json = await JsonOf(response);

        Assert.Equal("PUT", json.GetProperty("method").GetString());
        Assert.Equal(body.Length, json.GetProperty("length").GetInt64());
        Assert.Equal("application/octet-stream", json.GetProperty("contentType").GetString());
        Assert.Equal("forwarded", json.GetProperty("custom").GetString());
        Assert.Equal("?a=1&b=two", json.GetProperty("query").GetString());
    }

    [Fact]
    public async Task InvokeAsync_Activity_ReturnsTheWorkersOutput()
    {
        var activity = fixture.Host.Functions.Single(f => f.Name == "SayHello");
        var request = new InvocationRequest();
        request.InputData.Add(
            new ParameterBinding
            {
                Name = activity.Trigger.Key,
                Data = new TypedData { Json = "\"Ada\"" },
            }
        );

        var response = await fixture.Host.Worker.InvokeAsync(activity, request);

        Assert.True(StatusResult.Types.Status.Success == response.Result.Status, response.ToString());
        // The worker returns a string result as TypedData.String (JSON for other types).
        Assert.True(response.ReturnValue.String == "Hello Ada!", response.ToString());
        Assert.False(string.IsNullOrEmpty(response.InvocationId));
    }

    [Fact]
    public void BannerText_RealAccountOrEmulator_PrintsKeysOnlyForTheEmulator()
    {
        string real = Mlops.Host.Hosting.Banner.Text(fixture.Host, emulator: false);
        string emulator = Mlops.Host.Hosting.Banner.Text(fixture.Host, emulator: true);

        Assert.DoesNotContain(fixture.Host.FunctionKey, real);
        Assert.DoesNotContain(fixture.Host.MasterKey, real);
        Assert.Contains($"?code={Uri.EscapeDataString(fixture.Host.FunctionKey)}", emulator);
        Assert.Contains(fixture.Host.MasterKey, emulator);
        Assert.True(Mlops.Host.Hosting.Banner.IsEmulator(fixture.Azurite.ConnectionString));
        Assert.False(
            Mlops.Host.Hosting.Banner.IsEmulator(
                "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;EndpointSuffix=core.windows.net"
            )
        );
    }

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, string key)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("x-functions-key", key);
        return Client.SendAsync(request);
    }
}
