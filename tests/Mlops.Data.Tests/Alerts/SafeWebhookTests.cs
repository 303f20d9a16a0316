using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Core.Errors;
using Mlops.Data.Alerts;
using Xunit;

namespace Mlops.Data.Tests.Alerts;

/// <summary>The alert webhook cannot be turned against the host's network (SSRF), and delivers for real when
/// allowed.</summary>
public sealed class SafeWebhookTests
{
    private static readonly Alert Sample = new(
        AlertSeverity.Error,
        "drift",
        "feature_drift",
        "Column 'age' drifted.",
        "churn",
        "churn",
        new Dictionary<string, double> { ["age"] = 0.31 },
        new Dictionary<string, double> { ["age"] = 0.2 },
        "datasets/churn/abc/validation.json",
        "2026-12-01T14",
        DateTimeOffset.UnixEpoch
    );

    private static WebhookOptions Resolving(params string[] addresses) =>
        new() { Resolver = (_, _) => Task.FromResult(addresses.Select(IPAddress.Parse).ToArray()) };

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("169.254.169.254")]
    [InlineData("fe80::1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.20.0.5")]
    [InlineData("192.168.1.1")]
    [InlineData("fd00:ec2::254")]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::127.0.0.1")]
    [InlineData("100.64.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("64:ff9b:1::a00:1")] // local-use NAT64 (RFC 8215): translates to a private IPv4 inside the network
    [InlineData("192.0.2.10")] // documentation ranges route nowhere public
    [InlineData("198.51.100.7")]
    [InlineData("203.0.113.200")]
    [InlineData("198.19.255.1")] // benchmarking
    [InlineData("2001:db8::1")]
    [InlineData("3fff::1")]
    [InlineData("2001:2::5")]
    [InlineData("100::1")]
    public async Task Vet_HostResolvingToBlockedAddress_Rejected(string address)
    {
        var e = await Assert.ThrowsAsync<HttpRequestException>(() =>
            SafeWebhookSender.VetAsync("hooks.example.com", Resolving(address))
        );
        Assert.Contains("public addresses", e.Message);
    }

    [Fact]
    public async Task Vet_AnyBlockedAnswerAmongPublicOnes_Rejected()
    {
        await Assert.ThrowsAsync<HttpRequestException>(() =>
            SafeWebhookSender.VetAsync("hooks.example.com", Resolving("93.184.216.34", "10.0.0.1"))
        );
    }

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946")]
    public async Task Vet_PublicAddress_Accepted(string address)
    {
        Assert.Equal(
            IPAddress.Parse(address),
            await SafeWebhookSender.VetAsync("hooks.example.com", Resolving(address))
        );
    }

    [Fact]
    public async Task Send_RebindingHostToMetadata_RejectedAtConnect()
    {
        using var sender = new SafeWebhookSender("https://hooks.example.com/alert", Resolving("169.254.169.254"));
        var e = await Assert.ThrowsAsync<MlopsException>(() => sender.SendAsync(Sample));
        Assert.Equal("alert.delivery_failed", e.Code);
        // Refused by the address policy before any connection: a failed connect to the address (no route from this
        // machine) would also name it, so the policy's own reason is what shows the check ran.
        Assert.Contains("resolves to 169.254.169.254, a link-local (cloud metadata) address", e.Message);
        Assert.Contains("webhooks may only reach public addresses", e.Message);
    }

    [Theory]
    [InlineData("file:///etc/passwd", "scheme 'file'")]
    [InlineData("not a url", "not an absolute URL")]
    [InlineData("ftp://hooks.example.com/x", "scheme 'ftp'")]
    [InlineData("http://hooks.example.com/x", "MLOPS_ALLOW_HTTP_WEBHOOKS")]
    [InlineData("https://user:pw@hooks.example.com/x", "credentials")]
    [InlineData("https://169.254.169.254/latest/meta-data", "link-local")]
    [InlineData("https://[::1]/x", "loopback")]
    public void Parse_InvalidUrl_ErrorNamingAlertWebhook(string url, string why)
    {
        var e = Assert.Throws<MlopsException>(() => WebhookUrl.Parse(url, allowHttp: false));
        Assert.Equal(WebhookUrl.InvalidCode, e.Code);
        Assert.Contains("alertWebhook", e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Parse_HttpWhenAllowed_Accepted()
    {
        Assert.Equal("http", WebhookUrl.Parse("http://hooks.example.com/x", allowHttp: true).Scheme);
        Assert.Equal("https", WebhookUrl.Parse("https://hooks.example.com/x", allowHttp: false).Scheme);
    }

    private static async Task<(WebApplication App, string Url, List<string> Bodies)> ListenerAsync(
        Func<HttpContext, Task> answer
    )
    {
        var bodies = new List<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            string body = await reader.ReadToEndAsync();
            lock (bodies)
                bodies.Add(body);
            await answer(context);
        });
        await app.StartAsync();
        string url = app
            .Services.GetRequiredService<IServer>()
            .Features.Get<IServerAddressesFeature>()!
            .Addresses.First();
        return (app, url, bodies);
    }

    [Fact]
    public async Task Send_LocalListenerWithExplicitAllowances_DeliversPayload()
    {
        var (app, url, bodies) = await ListenerAsync(c =>
        {
            c.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
        await using var _ = app;
        using var sender = new SafeWebhookSender(
            url + "/hook",
            new WebhookOptions { AllowHttp = true, AllowLoopbackForTests = true }
        );

        await sender.SendAsync(Sample);

        var body = JsonDocument.Parse(Assert.Single(bodies)).RootElement;
        Assert.Equal("churn|feature_drift|2026-12-01T14", body.GetProperty("dedupKey").GetString());
        var alert = body.GetProperty("alert");
        Assert.Equal("error", alert.GetProperty("severity").GetString());
        Assert.Equal("churn", alert.GetProperty("model").GetString());
        Assert.Equal(0.31, alert.GetProperty("values").GetProperty("age").GetDouble());
        Assert.Equal(0.2, alert.GetProperty("thresholds").GetProperty("age").GetDouble());
        Assert.Equal("datasets/churn/abc/validation.json", alert.GetProperty("reportLink").GetString());
    }

    [Fact]
    public async Task Send_LocalListenerWithoutLoopbackAllowance_Rejected()
    {
        var (app, url, bodies) = await ListenerAsync(c => Task.CompletedTask);
        await using var _ = app;
        // "localhost" passes the URL check (not an IP literal) and is caught when the connection resolves it.
        using var sender = new SafeWebhookSender(
            url.Replace("127.0.0.1", "localhost") + "/hook",
            new WebhookOptions { AllowHttp = true }
        );

        var e = await Assert.ThrowsAsync<MlopsException>(() => sender.SendAsync(Sample));
        Assert.Contains("loopback", e.Message);
        Assert.Empty(bodies);
    }

    [Theory]
    [InlineData(302)]
    [InlineData(500)]
    public async Task Send_RedirectOrServerError_ThrowsForRetryAndFollowsNothing(int status)
    {
        var (app, url, bodies) = await ListenerAsync(c =>
        {
            c.Response.StatusCode = status;
            c.Response.Headers.Location = "http://169.254.169.254/latest/meta-data/";
            return Task.CompletedTask;
        });
        await using var _ = app;
        using var sender = new SafeWebhookSender(
            url + "/hook",
            new WebhookOptions { AllowHttp = true, AllowLoopbackForTests = true }
        );

        var e = await Assert.ThrowsAsync<MlopsException>(() => sender.SendAsync(Sample));
        Assert.Contains(status.ToString(), e.Message);
        Assert.Single(bodies); // one request: the redirect was not followed
    }

    [Fact]
    public void Create_InvalidWebhook_ConfigError()
    {
        var e = Assert.Throws<MlopsException>(() =>
            AlertSinks.Create(
                "file:///etc/passwd",
                Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance
            )
        );
        Assert.Equal(WebhookUrl.InvalidCode, e.Code);
    }
}
