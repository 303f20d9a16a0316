using System.Net;
using System.Net.Sockets;
using System.Text;
using Mlops.Functions.Tests.EndToEnd;
using Mlops.Testing.Chaos;
using Xunit;

namespace Mlops.Functions.Tests.Security;

/// <summary>
/// OWASP API4 (unrestricted resource consumption) and malformed drops against the real host: every abuse gets a
/// precise 4xx (or the connection is cut), the host stays up, and a good drop afterwards still trains.
/// </summary>
public sealed class AbuseTests(FunctionHostFixture host) : IClassFixture<FunctionHostFixture>
{
    [Fact]
    public async Task OversizedBody_DeepJson_HugeBatch_AreRefused_NeverA5xx()
    {
        // A body over the host's 100 MB limit (Azure's) is refused from its Content-Length, before it is read (predict
        // answers 404 first for an unknown model without reading the body at all; a body-reading admin route shows the
        // size limit).
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, host.Port);
            var stream = client.GetStream();
            await stream.WriteAsync(
                Encoding.ASCII.GetBytes(
                    $"PUT /api/datasets/anything/schema HTTP/1.1\r\nHost: x\r\nx-functions-key: {FunctionHostFixture.MasterKey}\r\nContent-Type: application/json\r\nContent-Length: 104857601\r\n\r\n{{\"rows\":["
                )
            );
            var buffer = new byte[512];
            int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.StartsWith("HTTP/1.1 413", Encoding.ASCII.GetString(buffer, 0, read));
        }

        string deep = new string('[', 5000) + new string(']', 5000);
        var deepBody = await host.Admin.PostAsync(
            "/api/models/anything/promote",
            new StringContent(deep, Encoding.UTF8, "application/json")
        );
        Assert.Equal(HttpStatusCode.BadRequest, deepBody.StatusCode);
        Assert.Contains("\"code\"", await deepBody.Content.ReadAsStringAsync());

        var manyRows = "{\"rows\":[" + string.Join(",", Enumerable.Repeat("{\"a\":1}", 5000)) + "]}";
        var batch = await host.Http.PostAsync(
            "/api/models/anything/predict",
            new StringContent(manyRows, Encoding.UTF8, "application/json")
        );
        Assert.True((int)batch.StatusCode is >= 400 and < 500, $"batch of 5000 rows: {batch.StatusCode}");

        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task SlowBody_IsCutOff_TheHostKeepsServing()
    {
        // Announce a large body and trickle it: Kestrel's minimum data rate ends the request instead of holding a
        // thread.
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, host.Port);
        var stream = client.GetStream();
        byte[] head = Encoding.ASCII.GetBytes(
            $"POST /api/models/anything/predict HTTP/1.1\r\nHost: x\r\nx-functions-key: {FunctionHostFixture.Key}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
        );
        await stream.WriteAsync(head);
        var cut = false;
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (DateTime.UtcNow < deadline && !cut)
        {
            try
            {
                await stream.WriteAsync(" "u8.ToArray());
                await Task.Delay(1000);
            }
            catch (IOException)
            {
                cut = true;
            }
            if (client.Available > 0)
                cut = true; // the server answered (408/400) before the body finished
        }
        Assert.True(cut, "a 1 byte/s body should be cut off by the host");
        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task MalformedDrops_EachGetAReport_ThenAGoodDropStillTrains()
    {
        const string ds = "abuse-drops";
        string config = """{"target":"label","task":"binary","trainer":"linear"}""";
        var bad = new Dictionary<string, byte[]>
        {
            ["random.csv"] = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919 % 251)).ToArray(),
            ["empty.csv"] = [],
            ["header-only.csv"] = "x1,x2,noise,label\n"u8.ToArray(),
            ["ragged.csv"] = "x1,x2,noise,label\n1,2\n3,4,5,6,7\n"u8.ToArray(),
            ["one-class.csv"] = Encoding.UTF8.GetBytes(
                "x1,x2,noise,label\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"{i},{i},{i},1\n"))
            ),
            ["bom-crlf.csv"] = [0xEF, 0xBB, 0xBF, .. "x1,x2,noise,label\r\n1,2,3,\"a\r\nb\"\n"u8.ToArray()],
        };
        await host.DropAsync(ds, "first-good.csv", ChaosRun.SyntheticCsv(200, 1), config);
        Assert.Equal(
            "Completed",
            (await host.WaitForDropRunAsync(ds, "first-good.csv", TimeSpan.FromSeconds(90)))
                .GetProperty("runtimeStatus")
                .GetString()
        );
        foreach (var (name, bytes) in bad)
            await host.DropAsync(ds, name, bytes);
        foreach (var name in bad.Keys)
        {
            var status = await host.WaitForDropRunAsync(ds, name, TimeSpan.FromSeconds(90));
            Assert.Equal("Failed", status.GetProperty("runtimeStatus").GetString());
            Assert.False(
                string.IsNullOrWhiteSpace(status.GetProperty("failureDetails").GetProperty("errorMessage").GetString()),
                name
            );
        }
        await host.DropAsync(ds, "second-good.csv", ChaosRun.SyntheticCsv(220, 2));
        var good = await host.WaitForDropRunAsync(ds, "second-good.csv", TimeSpan.FromSeconds(90));
        Assert.Equal("Completed", good.GetProperty("runtimeStatus").GetString());
        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous.GetAsync("/api/health")).StatusCode);
    }
}
