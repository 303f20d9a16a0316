using System.Collections.Concurrent;
using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Host.Durable;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests.Durable;

/// <summary>
/// One private Azurite and one local host running the test app's worker, shared by the
/// Durable tests (a worker start costs seconds). Also a gRPC <see cref="DurableTaskClient"/> on the host's client
/// endpoint: the same client library and endpoint the worker's <c>[DurableClient]</c> binding gets.
/// </summary>
public sealed class DurableHostFixture : IAsyncLifetime
{
    private GrpcChannel? _channel;

    /// <summary>The storage emulator.</summary>
    public AzuriteInstance Azurite { get; private set; } = null!;

    /// <summary>The host under test.</summary>
    public LocalFunctionsHost Host { get; private set; } = null!;

    /// <summary>A client on the host's DurableClient endpoint.</summary>
    public DurableTaskClient Client { get; private set; } = null!;

    /// <summary>Every line the host logged (worker output, warnings), for failure messages.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        Host = await StartHostAsync(Azurite.ConnectionString, Log);
        Client = CreateClient(Host, out _channel);
    }

    /// <summary>
    /// Starts a host on the test app and waits for its dispatcher. The hub is host.json's ("HostTestHub"): every
    /// fixture has an Azurite of its own, so hubs never mix between fixtures, and hosts on one Azurite share theirs.
    /// </summary>
    public static async Task<LocalFunctionsHost> StartHostAsync(
        string storage,
        ConcurrentQueue<string> log,
        string hostId = "durable-tests"
    )
    {
        var host = await TestHosts.StartAsync(storage, log, hostId);
        await host.Services.GetRequiredService<DurableDispatcherService>().Started.WaitAsync(TimeSpan.FromSeconds(60));
        return host;
    }

    /// <summary>A gRPC DurableTaskClient on a host's client endpoint (what the worker's binding builds).</summary>
    public static DurableTaskClient CreateClient(LocalFunctionsHost host, out GrpcChannel channel)
    {
        var address = host.Services.GetRequiredService<DurableClientEndpoint>().Address.Result;
        channel = GrpcChannel.ForAddress(address);
        return new GrpcDurableTaskClient(
            "tests",
            new GrpcDurableTaskClientOptions { Channel = channel },
            NullLogger.Instance
        );
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        _channel?.Dispose();
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

/// <summary>The Durable tests share one host (and run one class at a time: two hosts compete for 2 cores).</summary>
[CollectionDefinition(Name)]
public sealed class DurableHostCollection : ICollectionFixture<DurableHostFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Durable host";
}
