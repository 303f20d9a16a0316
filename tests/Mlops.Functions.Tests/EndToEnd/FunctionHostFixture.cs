using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Core.Storage;
using Mlops.Functions.Hosting;
using Mlops.Storage.Azure;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>A private Azurite plus the real function host on a free loopback port, as a user would run it.</summary>
public sealed class FunctionHostFixture : IAsyncLifetime
{
    public const string Key = "test-function-key";
    public const string MasterKey = "test-master-key";
    public AzuriteInstance Azurite { get; private set; } = null!;
    public WebApplication App { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public HttpClient Anonymous { get; private set; } = null!;
    /// <summary>The host's HTTP port on 127.0.0.1.</summary>
    public int Port { get; private set; }
    /// <summary>Holds the master key: for routes that change state.</summary>
    public HttpClient Admin { get; private set; } = null!;
    /// <summary>A plain storage client, separate from the host's, like a user's upload tool.</summary>
    public StorageServices Storage { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        int port = Port = AzuriteInstance.FreePort();
        var settings = new HostSettings { StorageConnectionString = Azurite.ConnectionString, HttpPort = port, FunctionKey = Key, MasterKey = MasterKey, BlobScanSeconds = 0.3, HostId = "e2e" };
        App = await FunctionApp.BuildAsync(settings);
        await App.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Add("x-functions-key", Key);
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        Admin.DefaultRequestHeaders.Add("x-functions-key", MasterKey);
        Anonymous = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Storage = AzureStorageAccount.Connect(Azurite.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Azurite.DisposeAsync();
    }

    public async Task DropAsync(string dataset, string fileName, byte[] content, string? config = null)
    {
        if (config is not null) await Storage.Blobs.WriteAsync("incoming", $"{dataset}/mlops.json", System.Text.Encoding.UTF8.GetBytes(config));
        await Storage.Blobs.WriteAsync("incoming", $"{dataset}/{fileName}", content);
    }

    /// <summary>Waits until the dataset's run for <paramref name="blobName"/> has an instance that finished; returns its status JSON.</summary>
    public async Task<JsonElement> WaitForDropRunAsync(string dataset, string blobName, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var runs = await Http.GetFromJsonAsync<JsonElement>($"/api/pipelines/{dataset}/runs");
            foreach (var run in runs.GetProperty("runs").EnumerateArray())
            {
                if (run.GetProperty("blob").GetString() != $"incoming/{dataset}/{blobName}") continue;
                if (run.TryGetProperty("runtimeStatus", out var s) && s.GetString() is "Completed" or "Failed" or "Terminated")
                    return await WaitForInstanceAsync(run.GetProperty("instanceId").GetString()!, TimeSpan.FromSeconds(5));
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
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var status = await response.Content.ReadFromJsonAsync<JsonElement>();
                string? s = status.GetProperty("runtimeStatus").GetString()?.ToLowerInvariant();
                if (s is "completed" or "failed" or "terminated") return status;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Instance {instanceId} did not finish within {timeout}: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(250);
        }
    }

    /// <summary>Every /api route the host serves, as (method, pattern without a trailing slash), read from its route table.</summary>
    public IEnumerable<(string Method, string Pattern)> ApiRoutes()
    {
        var endpoints = App.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints;
        foreach (var e in endpoints.OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>())
        {
            string pattern = "/" + e.RoutePattern.RawText!.Trim('/');
            if (!pattern.StartsWith("/api/", StringComparison.Ordinal)) continue;
            foreach (string method in e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                yield return (method, pattern);
        }
    }

    /// <summary>A property that may hold JSON either embedded or as a JSON string.</summary>
    public static JsonElement Embedded(JsonElement parent, string name)
    {
        var e = parent.GetProperty(name);
        return e.ValueKind == JsonValueKind.String ? JsonDocument.Parse(e.GetString()!).RootElement : e;
    }

}
