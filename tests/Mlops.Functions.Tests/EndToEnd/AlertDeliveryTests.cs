using System.Text;
using System.Text.Json;
using Mlops.Data.Alerts;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>A quarantined drop POSTs its alert to the dataset's webhook — durably, and once.</summary>
public sealed class AlertDeliveryTests
{
    [Fact]
    public async Task QuarantinedDrop_AlertReachesTheWebhook_Once_WithReportLink()
    {
        using var hook = new WebhookReceiver();

        // The worker accepts http:// webhooks only with this setting (for local use); see the report on loopback
        // receivers.
        await using var host = await FunctionHostFixture.StartAsync(
            "alerts",
            new Dictionary<string, string>
            {
                [WebhookOptions.AllowHttpVariable] = "true",
                [WebhookOptions.AllowLoopbackVariable] = "true",
            }
        );
        {
            var storage = host.Storage;
            string config =
                $$"""{"target":"label","task":"binary","trainer":"linear","alertWebhook":"{{hook.Url()}}"}""";
            await storage.Blobs.WriteAsync("incoming", "alerted/mlops.json", Encoding.UTF8.GetBytes(config));
            await storage.Blobs.WriteAsync(
                "incoming",
                "alerted/one-class.csv",
                Encoding.UTF8.GetBytes(
                    "x1,x2,noise,label\n"
                        + string.Concat(Enumerable.Range(0, 60).Select(i => $"{i},{i % 7},{i % 3},1\n"))
                )
            );

            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < deadline && hook.Bodies.Count == 0)
                await Task.Delay(200);
            await Task.Delay(1000); // a duplicate would arrive now
            var alert = JsonDocument.Parse(Assert.Single(hook.Bodies)).RootElement.GetProperty("alert");
            Assert.Equal("data_quarantined", alert.GetProperty("kind").GetString());
            Assert.Equal("alerted", alert.GetProperty("dataset").GetString());
            Assert.Contains("single_class", alert.GetProperty("message").GetString());
            Assert.Contains("quarantine", alert.GetProperty("reportLink").GetString());
        }
    }
}
