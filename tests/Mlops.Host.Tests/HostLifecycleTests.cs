using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>Worker crashes and restarts, side-by-side hosts, a taken port: each test with hosts of its own.</summary>
public sealed class HostLifecycleTests : IClassFixture<AzuriteFixture>
{
    private readonly AzuriteFixture _storage;

    public HostLifecycleTests(AzuriteFixture storage) => _storage = storage;

    [Fact]
    public async Task KillWorkerAsync_InFlightAndLaterRequests_InFlightFailsWith500AndTheRestartedWorkerAnswers()
    {
        var log = new ConcurrentQueue<string>();
        await using var host = await TestHosts.StartAsync(_storage.ConnectionString, log, hostId: "restart-tests");
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        int firstPid = host.Worker.WorkerProcessId!.Value;
        var inFlight = client.GetAsync("api/slow?ms=20000");
        await WaitUntil(
            () => log.Any(l => l.Contains("Executing endpoint 'Slow'", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(15)
        );

        await host.KillWorkerAsync();
        using var failed = await inFlight;
        await host.Worker.WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(60));
        using var after = await client.GetAsync("api/hello");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.NotEqual(firstPid, host.Worker.WorkerProcessId);
        Assert.Equal(2, host.Worker.Starts);
    }

    [Fact]
    public async Task StartAsync_TwoHostsOnOneAccount_BothServeWithTheSameStoredKeys()
    {
        var log = new ConcurrentQueue<string>();
        var starting = new[]
        {
            TestHosts.StartAsync(_storage.ConnectionString, log, hostId: "pair"),
            TestHosts.StartAsync(_storage.ConnectionString, log, hostId: "pair"),
        };
        var hosts = await Task.WhenAll(starting);
        try
        {
            Assert.NotEqual(hosts[0].Port, hosts[1].Port);
            Assert.Equal(hosts[0].MasterKey, hosts[1].MasterKey);
            Assert.Equal(hosts[0].FunctionKey, hosts[1].FunctionKey);
            foreach (var host in hosts)
            {
                using var client = new HttpClient { BaseAddress = host.BaseAddress };
                client.DefaultRequestHeaders.Add("x-functions-key", hosts[0].FunctionKey);
                var json = await client.GetFromJsonAsync<JsonElement>("api/things/shared");
                Assert.Equal("shared", json.GetProperty("name").GetString());
            }
        }
        finally
        {
            foreach (var host in hosts)
                await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task StartAsync_PortTaken_ThrowsPortInUseWithoutStartingAWorker()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var log = new ConcurrentQueue<string>();

        var error = await Assert.ThrowsAsync<PortInUseException>(() =>
            TestHosts.StartAsync(_storage.ConnectionString, log, hostId: "taken", port: port)
        );

        Assert.Contains(port.ToString(), error.Message);
        Assert.DoesNotContain(log, l => l.Contains("worker ready", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_ConfiguredKeys_OverrideTheStoredOnes()
    {
        var log = new ConcurrentQueue<string>();
        await using var host = await TestHosts.StartAsync(
            _storage.ConnectionString,
            log,
            hostId: "configured",
            functionKey: "fk-configured-1",
            masterKey: "mk-configured-1"
        );
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        using var withConfigured = await client.GetAsync("api/things/x?code=fk-configured-1");
        using var adminWithFunction = await client.PostAsync("api/admin/reset?code=fk-configured-1", null);
        using var admin = await client.PostAsync("api/admin/reset?code=mk-configured-1", null);

        Assert.Equal(HttpStatusCode.OK, withConfigured.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, adminWithFunction.StatusCode);
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The condition did not hold in time.");
            await Task.Delay(50);
        }
    }
}
