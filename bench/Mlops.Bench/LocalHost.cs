using System.Reflection;
using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Host;
using Mlops.Host.Durable;
using Mlops.Testing.Chaos;

namespace Mlops.Bench;

/// <summary>
/// The app as a user runs it, for the benchmarks that go through HTTP or triggers: the local Functions host
/// (functions/Mlops.Host) running the built worker on a free port, keys <c>k1</c> (function) and <c>k2</c> (master).
/// </summary>
public static class LocalHost
{
    /// <summary>The function key every bench host uses.</summary>
    public const string FunctionKey = "k1";

    /// <summary>Starts the host on <paramref name="port"/> over <paramref name="connectionString"/> and waits until it
    /// serves.</summary>
    public static async Task<HostProcess> StartAsync(string connectionString, int port, string hostId)
    {
        var host = new HostProcess(HostProcess.FindHostDll(), connectionString, port, hostId) { HostId = hostId };
        host.Environment["MLOPS_FUNCTION_KEY"] = FunctionKey;
        host.Environment["MLOPS_MASTER_KEY"] = "k2";
        host.Start();
        try
        {
            await host.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>
    /// The same host in this process (the benchmarks that also need its internals: the worker's own endpoint, the
    /// DurableClient endpoint), on a free port, running the worker in <paramref name="appDirectory"/> (default: the
    /// app).
    /// </summary>
    public static Task<LocalFunctionsHost> StartInProcessAsync(
        string connectionString,
        string hostId,
        string? appDirectory = null
    )
    {
        var options = new LocalHostOptions
        {
            AppDirectory = appDirectory,
            StorageConnectionString = connectionString,
            HttpPort = 0,
            HostId = hostId,
            FunctionKey = FunctionKey,
            MasterKey = "k2",
            Log = _ => { }, // the worker's lines would mix into the tables
        };
        return LocalFunctionsHost.StartAsync(options);
    }

    /// <summary>The build output of tests/Mlops.Host.TestApp (its Durable scenarios are the engine benchmark's
    /// workload).</summary>
    public static string TestAppDirectory =>
        Path.GetFullPath(
            typeof(LocalHost)
                .Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .First(a => a.Key == "TestAppDirectory")
                .Value!
        );

    /// <summary>A DurableTaskClient on the host's client endpoint: what the worker's [DurableClient] binding
    /// gets.</summary>
    public static async Task<(DurableTaskClient Client, GrpcChannel Channel)> DurableClientAsync(
        LocalFunctionsHost host
    )
    {
        await host.Services.GetRequiredService<DurableDispatcherService>().Started.WaitAsync(TimeSpan.FromSeconds(60));
        var address = await host.Services.GetRequiredService<DurableClientEndpoint>().Address;
        var channel = GrpcChannel.ForAddress(address);
        return (
            new GrpcDurableTaskClient(
                "bench",
                new GrpcDurableTaskClientOptions { Channel = channel },
                NullLogger.Instance
            ),
            channel
        );
    }
}
