using System.Collections.Concurrent;
using System.Reflection;
using Azure.Storage.Blobs;
using Mlops.Host.Http;
using Mlops.Testing;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>Starts local hosts on the test app, each on a free port, collecting their console lines.</summary>
public static class TestHosts
{
    /// <summary>The test app's build output (written into this assembly by the csproj).</summary>
    public static string AppDirectory =>
        Path.GetFullPath(
            typeof(TestHosts)
                .Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .First(a => a.Key == "TestAppDirectory")
                .Value!
        );

    public static Task<LocalFunctionsHost> StartAsync(
        string storage,
        ConcurrentQueue<string> log,
        string hostId = "host-tests",
        int port = 0,
        string? functionKey = null,
        string? masterKey = null
    )
    {
        var options = new LocalHostOptions
        {
            AppDirectory = AppDirectory,
            StorageConnectionString = storage,
            HttpPort = port,
            HostId = hostId,
            FunctionKey = functionKey,
            MasterKey = masterKey,
            Log = log.Enqueue,
        };
        options.WorkerEnvironment["TEST_SCHEDULE"] = "0 0 0 1 1 *"; // the timer exists but never fires during a test
        return LocalFunctionsHost.StartAsync(options);
    }
}

/// <summary>One Azurite and one host for the HTTP tests (a worker start costs seconds: share it).</summary>
public sealed class HostFixture : IAsyncLifetime
{
    /// <summary>A key stored for WhoAmI only, the way the host stores per-function keys.</summary>
    public const string WhoAmIKey = "whoami-own-key-0123456789";

    public AzuriteInstance Azurite { get; private set; } = null!;
    public LocalFunctionsHost Host { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public ConcurrentQueue<string> Log { get; } = new();

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        var secrets = new BlobServiceClient(Azurite.ConnectionString).GetBlobContainerClient(HostKeys.SecretsContainer);
        await secrets.CreateIfNotExistsAsync();
        await secrets
            .GetBlobClient(HostKeys.FunctionSecretsPath("host-tests", "WhoAmI"))
            .UploadAsync(
                BinaryData.FromString(
                    $$"""{"keys":[{"name":"own","value":"{{WhoAmIKey}}","encrypted":false}],"hostName":"localhost","source":"runtime"}"""
                )
            );
        Host = await TestHosts.StartAsync(Azurite.ConnectionString, Log);
        Client = new HttpClient { BaseAddress = Host.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class HostCollection : ICollectionFixture<HostFixture>
{
    public const string Name = "host";
}
