using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Data.Alerts;
using Mlops.Functions.Hosting;
using Mlops.Testing;
using Mlops.Testing.Chaos;
using Mlops.Storage.Azure;
using Xunit;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>A quarantined drop POSTs its alert to the dataset's webhook — durably, and once.</summary>
public sealed class AlertDeliveryTests
{
    [Fact]
    public async Task QuarantinedDrop_AlertReachesTheWebhook_Once_WithReportLink()
    {
        using var hook = new WebhookReceiver();

        Environment.SetEnvironmentVariable(WebhookOptions.AllowHttpVariable, "true"); // the config check accepts http://localhost
        await using var azurite = await AzuriteInstance.StartAsync();
        int port = AzuriteInstance.FreePort();
        var settings = new HostSettings { StorageConnectionString = azurite.ConnectionString, HttpPort = port, FunctionKey = "f-key", MasterKey = "m-key", BlobScanSeconds = 0.3, HostId = "alerts" };
        // A local receiver is loopback: allowed only by this explicit test option, never by configuration.
        var app = await FunctionApp.BuildAsync(settings, configure: b => b.Services.AddSingleton(new WebhookOptions { AllowHttp = true, AllowLoopbackForTests = true }));
        await app.StartAsync();
        try
        {
            var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
            string config = $$"""{"target":"label","task":"binary","trainer":"linear","alertWebhook":"{{hook.Url()}}"}""";
            await storage.Blobs.WriteAsync("incoming", "alerted/mlops.json", Encoding.UTF8.GetBytes(config));
            await storage.Blobs.WriteAsync("incoming", "alerted/one-class.csv", Encoding.UTF8.GetBytes("x1,x2,noise,label\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"{i},{i % 7},{i % 3},1\n"))));

            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < deadline && hook.Bodies.Count == 0) await Task.Delay(200);
            await Task.Delay(1000); // a duplicate would arrive now
            var alert = JsonDocument.Parse(Assert.Single(hook.Bodies)).RootElement.GetProperty("alert");
            Assert.Equal("data_quarantined", alert.GetProperty("kind").GetString());
            Assert.Equal("alerted", alert.GetProperty("dataset").GetString());
            Assert.Contains("single_class", alert.GetProperty("message").GetString());
            Assert.Contains("quarantine", alert.GetProperty("reportLink").GetString());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
