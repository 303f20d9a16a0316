using System.Diagnostics;
using Mlops.Host.Http;
using Mlops.Host.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Host.Tests;

/// <summary>
/// What the host's hop costs: a request through the front (route, keys, forward, invocation) against the floor, the
/// same invocation sent straight to the worker's HttpUri. Prints the numbers; asserts only generous bounds.
/// </summary>
[Collection(HostCollection.Name)]
public sealed class HopCostTests(HostFixture fixture, ITestOutputHelper output)
{
    private const int Sequential = 300,
        Concurrent = 3000,
        Parallelism = 16;

    [Fact]
    public async Task Get_ThroughTheHostAndDirect_HopCostsLittleOverTheWorkersOwnFloor()
    {
        using var client = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        using var direct = new HttpClient { BaseAddress = fixture.Host.Worker.WorkerHttpUri };
        var hello = fixture.Host.Functions.Single(f => f.Name == "Hello");
        Task<HttpResponseMessage> ThroughHost() => client.GetAsync("api/hello");
        async Task<HttpResponseMessage> Direct()
        {
            // The floor: the invocation over gRPC plus the request to the worker's own HttpUri, without the front.
            var session = await fixture.Host.Worker.ReadySessionAsync();
            var invocation = new InvocationRequest { InvocationId = Guid.NewGuid().ToString() };
            invocation.InputData.Add(
                new ParameterBinding
                {
                    Name = hello.Trigger.Key,
                    Data = new TypedData { Http = new RpcHttp() },
                }
            );
            fixture.Host.Worker.Prepare(session, hello, invocation);
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/hello");
            request.Headers.Add(HttpFront.InvocationIdHeader, invocation.InvocationId);
            var answer = direct.SendAsync(request);
            var result = await session.Invoke(invocation, default);
            Assert.Equal(StatusResult.Types.Status.Success, result.Result.Status);
            return await answer;
        }

        var (hostP50, hostP95) = await SequentialAsync(ThroughHost);
        var (directP50, directP95) = await SequentialAsync(Direct);
        double hostRate = await ConcurrentAsync(ThroughHost);
        double directRate = await ConcurrentAsync(Direct);

        output.WriteLine($"worker start to ready: {fixture.Host.Worker.LastStartToReady.TotalMilliseconds:0} ms");
        output.WriteLine(
            $"sequential p50/p95 ms: host {hostP50:0.00}/{hostP95:0.00}, direct {directP50:0.00}/{directP95:0.00}"
        );
        output.WriteLine($"concurrent ({Parallelism} clients) req/s: host {hostRate:0}, direct {directRate:0}");
        Assert.True(hostP50 < 50, $"host p50 {hostP50:0.0} ms");
        Assert.True(hostRate > 100, $"host {hostRate:0} req/s");
    }

    private static async Task<(double P50, double P95)> SequentialAsync(Func<Task<HttpResponseMessage>> send)
    {
        for (int i = 0; i < 30; i++)
            (await send()).Dispose(); // warm-up: JIT, pooled connections
        var samples = new double[Sequential];
        for (int i = 0; i < Sequential; i++)
        {
            long start = Stopwatch.GetTimestamp();
            using var response = await send();
            response.EnsureSuccessStatusCode();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(samples);
        return (samples[Sequential / 2], samples[Sequential * 95 / 100]);
    }

    private static async Task<double> ConcurrentAsync(Func<Task<HttpResponseMessage>> send)
    {
        int remaining = Concurrent;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(
            Enumerable
                .Range(0, Parallelism)
                .Select(async _ =>
                {
                    while (Interlocked.Decrement(ref remaining) >= 0)
                    {
                        using var response = await send();
                        response.EnsureSuccessStatusCode();
                    }
                })
        );
        return Concurrent / clock.Elapsed.TotalSeconds;
    }
}
