using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Core.Storage;
using Mlops.Durable.Local;
using Mlops.Storage.Azure;
using Mlops.Testing;
using Mlops.Testing.Chaos;
using Xunit;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>
/// The app as it runs everywhere: a private Azurite, and the local Functions host (functions/Mlops.Host) running the
/// built Mlops.Functions worker on a free loopback port — HTTP routed and keys checked by the host, Durable work
/// dispatched from the task hub, blob and timer triggers fired by it. Tests talk to it as a user does: over HTTP with
/// a key, and with a plain storage client; <see cref="Client"/> reads and writes the same task hub as the host.
/// </summary>
public sealed class FunctionHostFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string Key = "test-function-key";
    public const string MasterKey = "test-master-key";

    private readonly string hostId;
    private readonly IReadOnlyDictionary<string, string>? settings;

    /// <summary>The shared fixture of a test class: host id <c>e2e</c>, default settings.</summary>
    public FunctionHostFixture()
        : this("e2e", null) { }

    private FunctionHostFixture(string hostId, IReadOnlyDictionary<string, string>? settings)
    {
        this.hostId = hostId;
        this.settings = settings;
    }

    /// <summary>A host of its own for one test (its own Azurite), with extra app settings.</summary>
    public static async Task<FunctionHostFixture> StartAsync(
        string hostId,
        IReadOnlyDictionary<string, string>? settings = null
    )
    {
        var fixture = new FunctionHostFixture(hostId, settings);
        try
        {
            await fixture.InitializeAsync();
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
        return fixture;
    }

    public AzuriteInstance Azurite { get; private set; } = null!;
    public HostProcess Host { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public HttpClient Anonymous { get; private set; } = null!;

    /// <summary>The host's HTTP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>Holds the master key: for routes that change state.</summary>
    public HttpClient Admin { get; private set; } = null!;

    /// <summary>A plain storage client, separate from the host's, like a user's upload tool.</summary>
    public StorageServices Storage { get; private set; } = null!;

    /// <summary>A durable client on the app's task hub (<c>mlops</c>), with the app's JSON conventions.</summary>
    public DurableTaskClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        for (int attempt = 1; ; attempt++)
        {
            Port = AzuriteInstance.FreePort();
            Host = new HostProcess(HostProcess.FindHostDll(), Azurite.ConnectionString, Port, hostId)
            {
                HostId = hostId,
            };
            Host.Environment["MLOPS_FUNCTION_KEY"] = Key;
            Host.Environment["MLOPS_MASTER_KEY"] = MasterKey;
            foreach (var (k, v) in settings ?? new Dictionary<string, string>())
                Host.Environment[k] = v;
            Host.Start();
            try
            {
                await Host.WaitHealthyAsync(TimeSpan.FromSeconds(120));
                break;
            }
            catch (TimeoutException)
                when (attempt < 3 && !Host.IsRunning && Host.Output.Any(l => l.Contains("already in use")))
            {
                // The free port was taken between choosing it and binding it (a parallel test's process got it as
                // its ephemeral port): choose another.
                await Host.DisposeAsync();
            }
        }
        Http = NewClient(Key);
        Admin = NewClient(MasterKey);
        Anonymous = NewClient(null);
        Storage = AzureStorageAccount.Connect(Azurite.ConnectionString);
        var hub = new LocalTaskHub(
            TaskHubStorage.FromConnectionString(Azurite.ConnectionString),
            new LocalDurableOptions { TaskHubName = "mlops" },
            NullLoggerFactory.Instance
        );
        await hub.EnsureCreatedAsync();
        Client = new LocalDurableClient(hub, new JsonDataConverter(Mlops.Core.Json.Options));
    }

    private HttpClient NewClient(string? key)
    {
        var client = new HttpClient
        {
            BaseAddress = new Uri($"http://127.0.0.1:{Port}"),
            Timeout = TimeSpan.FromSeconds(60),
        };
        if (key is not null)
            client.DefaultRequestHeaders.Add("x-functions-key", key);
        return client;
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        Admin?.Dispose();
        Anonymous?.Dispose();
        if (Host is not null)
            await Host.DisposeAsync();
        if (Azurite is not null)
            await Azurite.DisposeAsync();
    }

    public async Task DropAsync(string dataset, string fileName, byte[] content, string? config = null)
    {
        if (config is not null)
            await Storage.Blobs.WriteAsync(
                "incoming",
                $"{dataset}/mlops.json",
                System.Text.Encoding.UTF8.GetBytes(config)
            );
        await Storage.Blobs.WriteAsync("incoming", $"{dataset}/{fileName}", content);
    }

    /// <summary>Waits until the dataset's run for <paramref name="blobName"/> has an instance that finished; returns
    /// its status JSON.</summary>
    public async Task<JsonElement> WaitForDropRunAsync(string dataset, string blobName, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var runs = await Http.GetFromJsonAsync<JsonElement>($"/api/pipelines/{dataset}/runs");
            foreach (var run in runs.GetProperty("runs").EnumerateArray())
            {
                if (run.GetProperty("blob").GetString() != $"incoming/{dataset}/{blobName}")
                    continue;
                if (
                    run.TryGetProperty("runtimeStatus", out var s)
                    && s.GetString() is "Completed" or "Failed" or "Terminated"
                )
                    return await WaitForInstanceAsync(
                        run.GetProperty("instanceId").GetString()!,
                        TimeSpan.FromSeconds(5)
                    );
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"No finished run for incoming/{dataset}/{blobName} within {timeout}.");
    }

    public async Task<JsonElement> WaitForInstanceAsync(string instanceId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var response = await Http.GetAsync($"/api/orchestrations/{instanceId}");
            if (response.StatusCode is HttpStatusCode.OK)
            {
                var status = await response.Content.ReadFromJsonAsync<JsonElement>();
                string? s = status.GetProperty("runtimeStatus").GetString()?.ToLowerInvariant();
                if (s is "completed" or "failed" or "terminated")
                    return status;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(
                    $"Instance {instanceId} did not finish within {timeout}: {await response.Content.ReadAsStringAsync()}"
                );
            await Task.Delay(250);
        }
    }

    /// <summary>Every /api route the app declares, as (method, route template), from its function attributes.</summary>
    public static IEnumerable<(string Method, string Pattern)> ApiRoutes() =>
        Mlops
            .Functions.Handlers.OpenApiDocument.Routes(typeof(Mlops.Functions.Hosting.AppServices).Assembly)
            .Where(r => r.Route.StartsWith("api/", StringComparison.Ordinal))
            .Select(r => (r.Method, "/" + r.Route));

    /// <summary>A property that may hold JSON either embedded or as a JSON string.</summary>
    public static JsonElement Embedded(JsonElement parent, string name)
    {
        var e = parent.GetProperty(name);
        return e.ValueKind == JsonValueKind.String ? JsonDocument.Parse(e.GetString()!).RootElement : e;
    }
}
