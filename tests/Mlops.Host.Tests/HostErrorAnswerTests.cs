using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mlops.Host.Hosting;
using Mlops.Host.Http;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>
/// The host's own answers (no function, limits, a failed invocation) carry the documented error body
/// <c>{"error":{"code","message"}}</c>; a missing key stays Azure's empty 401; keys stay out of what a real account's
/// console prints.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class HostErrorAnswerTests(HostFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error").Clone();
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), body);
        return error;
    }

    [Fact]
    public async Task Send_NoRouteOrMethodMatches_404WithTheDocumentedBodyNamingTheRequest()
    {
        using var unknown = await Client.GetAsync("api/nothing-here");
        using var wrongMethod = await Client.PostAsync("api/hello", null);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HostErrorAnswer.NotFoundCode, (await ErrorOf(unknown)).GetProperty("code").GetString());
        var error = await ErrorOf(wrongMethod);
        Assert.Equal(HttpStatusCode.NotFound, wrongMethod.StatusCode);
        Assert.Contains("POST /api/hello", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Post_ContentLengthOver100MB_413WithTheDocumentedBody()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, fixture.Host.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(
            Encoding.ASCII.GetBytes(
                $"POST /api/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {HttpFront.MaxRequestBodySize + 1}\r\n\r\n"
            )
        );
        var buffer = new byte[4096];
        int total = 0;
        string text = "";
        while (!text.Contains("}}", StringComparison.Ordinal) && total < buffer.Length)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(total)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read == 0)
                break;
            total += read;
            text = Encoding.UTF8.GetString(buffer, 0, total);
        }

        Assert.StartsWith("HTTP/1.1 413", text);
        var error = JsonDocument
            .Parse(text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..])
            .RootElement.GetProperty("error");
        Assert.Equal(HostErrorAnswer.TooLargeCode, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Get_RequestLineOverTheLimit_414WithTheDocumentedBody_UnderItReachesTheFunction()
    {
        // "GET " + target + " HTTP/1.1\r\n" is 15 bytes more than the target.
        string Target(int line) => "api/hello?q=" + new string('q', line - 15 - "/api/hello?q=".Length);

        using var under = await Client.GetAsync(Target(HostRequestLimits.MaxRequestLineSize - 64)); // the worker's own limit is 8 KiB too
        using var over = await Client.GetAsync(Target(HostRequestLimits.MaxRequestLineSize + 1));

        Assert.Equal(HttpStatusCode.OK, under.StatusCode);
        Assert.Equal(HttpStatusCode.RequestUriTooLong, over.StatusCode);
        Assert.Equal(HostErrorAnswer.UriTooLongCode, (await ErrorOf(over)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Get_HeadersOverTheLimit_431WithTheDocumentedBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/hello");
        request.Headers.Add("x-pad", new string('p', HostRequestLimits.MaxRequestHeadersTotalSize));

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal(HostErrorAnswer.HeadersTooLargeCode, (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Get_FunctionThrows_500WithTheDocumentedBody_TheReasonOnlyInTheLog()
    {
        using var response = await Client.GetAsync("api/throws");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal(HostErrorAnswer.InvocationFailedCode, error.GetProperty("code").GetString());
        Assert.DoesNotContain("always fails", error.GetProperty("message").GetString());
        Assert.Contains(fixture.Log, line =>
            line.Contains("Throws failed: This function always fails.", StringComparison.Ordinal)
        );
    }

    [Theory]
    [InlineData("UseDevelopmentStorage=true", true)]
    [InlineData(
        "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
        true
    )]
    [InlineData("AccountName=devstoreaccount1;AccountKey=a2V5;EndpointSuffix=core.windows.net", false)]
    [InlineData(
        "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=https://devstoreaccount1.blob.core.windows.net/",
        false
    )]
    [InlineData(
        "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;EndpointSuffix=core.windows.net",
        false
    )]
    public void IsEmulator_DecidesByTheEndpoint_NotTheAccountNameAlone(string connectionString, bool emulator) =>
        Assert.Equal(emulator, Banner.IsEmulator(connectionString));

    [Fact]
    public void DemoTryRequest_RealAccount_NamesTheSettingInsteadOfTheKey()
    {
        var address = new Uri("http://127.0.0.1:7071/");
        string real = Demo.TryRequest(address, "{\"a\":1}", functionKey: null);
        string emulator = Demo.TryRequest(address, "{\"a\":1}", fixture.Host.FunctionKey);

        Assert.DoesNotContain(fixture.Host.FunctionKey, real);
        Assert.Contains("x-functions-key: $MLOPS_FUNCTION_KEY", real);
        Assert.Contains($"x-functions-key: {fixture.Host.FunctionKey}", emulator);
        Assert.Contains("http://127.0.0.1:7071/api/models/breast-cancer/predict", real);
    }
}
