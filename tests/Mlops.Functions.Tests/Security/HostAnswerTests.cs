using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mlops.Functions.Tests.EndToEnd;
using Mlops.Testing.Chaos;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.Security;

/// <summary>
/// What the stack answers where the app's functions do not (issue 19): the host's own refusals carry the documented
/// error body, body sizes between the worker's Kestrel default (30 MB) and the host's 100 MB limit are 4xx, never 500,
/// the key level comes from the matched function, and drops the app refuses are refused through the host's trigger.
/// Everything runs through the local host, as users deploy it.
/// </summary>
public sealed class HostAnswerTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    private const long HostBodyLimit = 100L * 1024 * 1024;

    [Fact]
    public async Task UnknownRouteOrMethod_404WithTheDocumentedBody_MissingKeyStaysAnEmpty401()
    {
        foreach (
            var (method, path) in new[]
            {
                ("GET", "/api/no-such-route"),
                ("DELETE", "/api/models/m/predict"),
                ("PATCH", "/api/datasets"),
            }
        )
        {
            var response = await host.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var error = ErrorOf(await response.Content.ReadAsStringAsync(), $"{method} {path}");
            Assert.Contains(path, error.GetProperty("message").GetString());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
        // Azure's host answers a missing key with an empty 401, and clients (the dashboard) know that answer.
        var unauthorized = await host.Anonymous.GetAsync("/api/models");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal("", await unauthorized.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Body_OverTheHostLimit_413WithTheDocumentedBody_BeforeItIsSent()
    {
        var (status, body) = await RawAsync(
            $"PUT /api/datasets/sized/schema HTTP/1.1\r\nHost: x\r\nx-functions-key: {FunctionHostFixture.MasterKey}\r\n"
                + $"Content-Type: application/json\r\nContent-Length: {HostBodyLimit + 1}\r\n\r\n",
            bodyLength: 0
        );
        Assert.Equal(413, status);
        Assert.Equal("http.too_large", ErrorOf(body, "over 100 MB").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("PUT", "/api/datasets/sized/schema", 50L * 1024 * 1024, 413)] // between the worker's 30 MB and the host's 100 MB
    [InlineData("PUT", "/api/datasets/sized/schema", HostBodyLimit - 64 * 1024, 413)] // just under the host's limit
    [InlineData("POST", "/api/models/sized/feedback", 50L * 1024 * 1024, 0)] // a model that does not exist: 4xx, whichever
    [InlineData("POST", "/api/models/sized/predict", 50L * 1024 * 1024, 0)]
    public async Task Body_UpToTheHostLimit_IsA4xxWithTheDocumentedBody_NeverA500(
        string method,
        string path,
        long length,
        int expected
    )
    {
        string key = path.EndsWith("/predict", StringComparison.Ordinal)
            ? FunctionHostFixture.Key
            : FunctionHostFixture.MasterKey;
        var (status, body) = await RawAsync(
            $"{method} {path} HTTP/1.1\r\nHost: x\r\nx-functions-key: {key}\r\n"
                + $"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
            length
        );
        output.WriteLine($"{method} {path} with {length:N0} bytes: {status} {body}");
        if (expected != 0)
            Assert.Equal(expected, status);
        Assert.InRange(status, 400, 499);
        ErrorOf(body, $"{method} {path} {length}");
        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task RequestLine_OverTheLimit_414WithTheDocumentedBody_JustUnderReachesTheFunction()
    {
        // "GET /api/health?pad=… HTTP/1.1": the host's limit is Kestrel's default 8 KiB request line.
        string Target(int lineLength) =>
            "/api/health?pad=" + new string('a', lineLength - "GET  HTTP/1.1\r\n".Length - "/api/health?pad=".Length);
        var under = await host.Anonymous.GetAsync(Target(8 * 1024 - 16));
        Assert.Equal(HttpStatusCode.OK, under.StatusCode);
        var over = await host.Anonymous.GetAsync(Target(8 * 1024 + 16));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, over.StatusCode);
        Assert.Equal(
            "http.uri_too_long",
            ErrorOf(await over.Content.ReadAsStringAsync(), "414").GetProperty("code").GetString()
        );
    }

    [Fact]
    public async Task Headers_OverTheLimit_431WithTheDocumentedBody_JustUnderReachesTheFunction()
    {
        // "Host: x" and "x-pad: …" as Kestrel counts them (name + value + 4 each), against the host's 32 KiB. Just
        // under the limit, the headers the hop adds (invocation id, forwarding) must still fit the worker's own
        // Kestrel.
        string Head(int headerBytes) =>
            $"GET /api/health HTTP/1.1\r\nHost: x\r\nx-pad: {new string('p', headerBytes - 9 - 9)}\r\n\r\n";
        var (underStatus, underBody) = await RawAsync(Head(32 * 1024 - 8), 0);
        Assert.True(underStatus == 200, $"just under the header limit: {underStatus} {underBody}");
        var (overStatus, overBody) = await RawAsync(Head(32 * 1024 + 64), 0);
        Assert.Equal(431, overStatus);
        Assert.Equal("http.headers_too_large", ErrorOf(overBody, "431").GetProperty("code").GetString());
    }

    [Fact]
    public async Task KeyLevel_ComesFromTheMatchedFunction_NotFromThePathsLastSegment()
    {
        // Issue 19: a path ending in predict or feedback once passed with the function key whatever function it
        // reached.
        string[] paths =
        [
            "/api/models/m/aliases/predict",
            "/api/orchestrations/x/raiseEvent/predict",
            "/api/orchestrations/x/raiseEvent/feedback",
        ];
        foreach (string path in paths)
        {
            var content = new StringContent("{\"version\":1}", Encoding.UTF8, "application/json");
            var withFunctionKey = await host.Http.PostAsync(path, content);
            Assert.True(
                withFunctionKey.StatusCode == HttpStatusCode.Unauthorized,
                $"{path} with the function key: {withFunctionKey.StatusCode}"
            );
            var withMasterKey = await host.Admin.PostAsync(
                path,
                new StringContent("{\"version\":1}", Encoding.UTF8, "application/json")
            );
            Assert.True(withMasterKey.StatusCode != HttpStatusCode.Unauthorized, $"{path} refused the master key");
        }
    }

    [Fact]
    public async Task NestedOrBadlyNamedDrops_ThroughTheHostsTrigger_AreRefusedAndListed_NoRunStarts()
    {
        byte[] csv = ChaosRun.SyntheticCsv(60, 3);
        await host.Storage.Blobs.WriteAsync(
            "incoming",
            "nest-e2e/mlops.json",
            """{"target":"label","task":"binary","trainer":"linear"}"""u8.ToArray()
        );
        await host.Storage.Blobs.WriteAsync("incoming", "nest-e2e/sub/data.csv", csv);
        await host.Storage.Blobs.WriteAsync("incoming", "nest-e2e/notes.txt", "not data"u8.ToArray());
        await host.Storage.Blobs.WriteAsync("incoming", "Nest_E2E/data.csv", csv);

        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement[] runs = [];
        IReadOnlyList<Mlops.Core.Storage.TableRow> refusals = [];
        while (DateTime.UtcNow < deadline)
        {
            var listing = await host.Http.GetFromJsonAsync<JsonElement>("/api/pipelines/nest-e2e/runs");
            runs = listing.GetProperty("runs").EnumerateArray().ToArray();
            refusals = await host.Storage.Tables.QueryAllAsync("droprefusals");
            if (runs.Length >= 2 && refusals.Count >= 3)
                break;
            await Task.Delay(500);
        }
        output.WriteLine(string.Join("\n", runs.Select(r => r.ToString())));
        var nested = Assert.Single(runs, r => r.GetProperty("blob").GetString() == "incoming/nest-e2e/sub/data.csv");
        Assert.Equal("refused", nested.GetProperty("trigger").GetString());
        Assert.Contains("sub-folders", nested.GetProperty("error").GetString());
        Assert.Contains(runs, r =>
            r.GetProperty("blob").GetString() == "incoming/nest-e2e/notes.txt"
            && r.GetProperty("trigger").GetString() == "refused"
        );
        // No run for xyz from xyz/sub/…: every entry is a refusal, none has an instance.
        Assert.All(runs, r =>
            Assert.False(
                r.TryGetProperty("instanceId", out var id) && id.ValueKind == JsonValueKind.String,
                r.ToString()
            )
        );

        // A name that is no dataset is refused too, with the rule as it is (no '_'), and kept where the app lists
        // refusals.
        var badName = Assert.Single(refusals, r => r.GetString("Blob") == "Nest_E2E/data.csv");
        Assert.Contains("lower-case letters, digits and '-'", badName.GetString("Reason"));
    }

    [Fact]
    public async Task StrictInputs_OfIssue19_ThroughTheHost_Are4xxNamingTheProblem_NeverA500()
    {
        const string model = "strict-e2e";
        await host.DropAsync(
            model,
            "data.csv",
            ChaosRun.SyntheticCsv(200, 1),
            """{"target":"label","task":"binary","trainer":"linear"}"""
        );
        var trained = await host.WaitForDropRunAsync(model, "data.csv", TimeSpan.FromMinutes(3));
        Assert.Equal("Completed", trained.GetProperty("runtimeStatus").GetString());
        var row = new
        {
            x1 = 1.0,
            x2 = 0.5,
            noise = 0.1,
        };
        var served = await host.Http.PostAsJsonAsync($"/api/models/{model}/predict", new { rows = new[] { row } });
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("nosniff", served.Headers.GetValues("X-Content-Type-Options").Single());
        string issued = (await served.Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("predictionIds")[0]
            .GetString()!;
        long requestsBefore = await LiveRequestsAsync(model);

        // MEDIUM: a client id that is not printable ASCII was echoed into a header (500) and counted as served.
        foreach (string id in new[] { "caf\u00e9-1", "order\r\nX-Evil: 1" })
            await ExpectAsync(
                host.Http.PostAsJsonAsync(
                    $"/api/models/{model}/predict",
                    new { rows = new[] { row }, ids = new[] { id } }
                ),
                400,
                "serving.invalid_ids"
            );
        Assert.Equal(requestsBefore, await LiveRequestsAsync(model));

        // LOW, loose inputs: an unknown top-level key; labels outside the model's classes or not finite.
        await ExpectAsync(
            host.Http.PostAsync(
                $"/api/models/{model}/predict",
                Json("""{"rows":[{"x1":1,"x2":0.5,"noise":0.1}],"row":[]}""")
            ),
            400,
            "serving.unknown_field"
        );
        foreach (string label in new[] { "7", "1e400" })
        {
            var labels = Json($$"""{"labels":[{"predictionId":"{{issued}}","label":{{label}}}]}""");
            await ExpectAsync(
                host.Admin.PostAsync($"/api/models/{model}/feedback", labels),
                400,
                "monitoring.feedback_invalid_label"
            );
        }
        await ExpectAsync(
            host.Admin.PutAsync(
                $"/api/datasets/{model}/schema",
                Json("""{"columns":[{"name":"label","kind":"numeric"}],"label":"label","labelClasses":[]}""")
            ),
            400,
            null
        );

        // LOW: run ids beyond int32, monitoring run ids, unknown datasets, hyperparameters checked when the config
        // loads.
        await ExpectAsync(host.Http.GetAsync("/api/runs/sweep-t99999999999"), 404, null);
        await ExpectAsync(
            host.Http.GetAsync("/api/runs/compare?ids=sweep-t99999999999,sweep-t1-r99999999999"),
            0,
            null
        );
        await ExpectAsync(host.Http.GetAsync($"/api/models/{model}/monitoring/a..b"), 400, "monitoring.bad_run_id");
        await ExpectAsync(host.Http.GetAsync("/api/datasets/never-dropped"), 404, null);
        await host.Storage.Blobs.WriteAsync(
            "incoming",
            "strict-params/mlops.json",
            """{"target":"label","task":"binary","params":{"learning_rate":"fast"}}"""u8.ToArray()
        );
        var run = await ExpectAsync(host.Admin.PostAsync("/api/pipelines/strict-params/run", null), 400, null);
        Assert.Contains("params.learning_rate", run.GetProperty("message").GetString());
    }

    private async Task<long> LiveRequestsAsync(string model) =>
        (await host.Http.GetFromJsonAsync<JsonElement>($"/api/models/{model}/traffic/live?seconds=300"))
            .GetProperty("versions")
            .EnumerateArray()
            .Sum(v => v.GetProperty("requests").GetInt64());

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>
    /// Awaits the answer and checks it: <paramref name="status"/> (0: any 4xx), the documented body, and the code when
    /// given. Returns the error object.
    /// </summary>
    private async Task<JsonElement> ExpectAsync(Task<HttpResponseMessage> sending, int status, string? code)
    {
        using var response = await sending;
        string body = await response.Content.ReadAsStringAsync();
        string what = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";
        output.WriteLine($"{what}: {(int)response.StatusCode} {body}");
        if (status != 0)
            Assert.True((int)response.StatusCode == status, $"{what}: {(int)response.StatusCode} {body}");
        Assert.InRange((int)response.StatusCode, 400, 499);
        var error = ErrorOf(body, what);
        if (code is not null)
            Assert.Equal(code, error.GetProperty("code").GetString());
        return error;
    }

    /// <summary>The documented error body's <c>error</c> object; fails naming <paramref name="what"/> when the body is
    /// not one.</summary>
    private static JsonElement ErrorOf(string body, string what)
    {
        try
        {
            var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("code").GetString()), what);
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), what);
            return error.Clone();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new Xunit.Sdk.XunitException($"{what}: not the documented error body: '{body}'");
        }
    }

    /// <summary>
    /// Sends <paramref name="head"/> and <paramref name="bodyLength"/> bytes of JSON whitespace over a raw socket while
    /// reading the answer (a server may answer before the body ends; then sending stops). Returns the status and body.
    /// </summary>
    private async Task<(int Status, string Body)> RawAsync(string head, long bodyLength)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, host.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        using var answered = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            var chunk = new byte[64 * 1024];
            chunk.AsSpan().Fill((byte)' ');
            try
            {
                for (long sent = 0; sent < bodyLength && !answered.IsCancellationRequested; sent += chunk.Length)
                    await stream.WriteAsync(
                        chunk.AsMemory(0, (int)Math.Min(chunk.Length, bodyLength - sent)),
                        answered.Token
                    );
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
        });
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int headerEnd = -1;
        long contentLength = -1;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            int read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
                break;
            received.Write(buffer, 0, read);
            string text = Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);
            if (headerEnd < 0 && (headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
            {
                var length = text[..headerEnd]
                    .Split("\r\n")
                    .FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                contentLength = length is null
                    ? 0
                    : long.Parse(
                        length["Content-Length:".Length..].Trim(),
                        System.Globalization.CultureInfo.InvariantCulture
                    );
            }
            if (headerEnd >= 0 && received.Length >= headerEnd + 4 + contentLength)
                break;
        }
        await answered.CancelAsync();
        client.Close();
        await sending;
        string response = Encoding.UTF8.GetString(received.ToArray());
        Assert.True(response.StartsWith("HTTP/1.1 ", StringComparison.Ordinal), $"no HTTP answer: '{response}'");
        int status = int.Parse(response.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        return (status, headerEnd < 0 ? "" : response[(headerEnd + 4)..]);
    }
}
