using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Data.Alerts;
using Mlops.Data.Validation;
using Xunit;

namespace Mlops.Data.Tests.Alerts;

public class AlertSinkTests
{
    private static readonly DataAlert Alert = new("churn", new string('a', 64), ValidationOutcome.Quarantined, "**QUARANTINED**",
        [new Anomaly(AnomalyCodes.LabelShift, Severity.Error, "Label balance shifted")], "incoming/churn/x.csv", "quarantine/churn/aaa/validation.json", DateTimeOffset.UnixEpoch);

    private sealed class StubHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
    {
        public List<string> Bodies { get; } = [];
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Bodies.Add(await request.Content!.ReadAsStringAsync(cancellationToken));
            return await respond(request, cancellationToken);
        }
    }

    private static WebhookAlertSink Sink(StubHandler h, TimeSpan? timeout = null) =>
        new(new HttpClient(h), new Uri("http://hooks.local/alert"), NullLogger<WebhookAlertSink>.Instance, timeout);

    [Fact]
    public async Task Webhook_Success_PostsJsonSummary()
    {
        var h = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)));
        await Sink(h).SendAsync(Alert);
        using var doc = JsonDocument.Parse(Assert.Single(h.Bodies));
        Assert.Equal("**QUARANTINED**", doc.RootElement.GetProperty("text").GetString());
        Assert.Equal("churn", doc.RootElement.GetProperty("alert").GetProperty("dataset").GetString());
        Assert.Equal("quarantined", doc.RootElement.GetProperty("alert").GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Webhook_ServerError_LoggedNotThrown()
    {
        var h = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.InternalServerError)));
        await Sink(h).SendAsync(Alert);
        Assert.Single(h.Bodies);
    }

    [Fact]
    public async Task Webhook_Unreachable_LoggedNotThrown()
    {
        var h = new StubHandler((_, _) => throw new HttpRequestException("connection refused"));
        await Sink(h).SendAsync(Alert);
    }

    [Fact]
    public async Task Webhook_Hangs_TimesOutQuickly()
    {
        var h = new StubHandler(async (_, ct) => { await Task.Delay(TimeSpan.FromSeconds(30), ct); return new HttpResponseMessage(HttpStatusCode.OK); });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Sink(h, TimeSpan.FromMilliseconds(200)).SendAsync(Alert);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("ftp://x/y")]
    [InlineData("/relative")]
    public void Webhook_BadUrl_DataException(string url)
    {
        var ex = Assert.Throws<DataException>(() => new WebhookAlertSink(new HttpClient(), new Uri(url, UriKind.RelativeOrAbsolute), NullLogger<WebhookAlertSink>.Instance));
        Assert.Equal("data.options", ex.Code);
    }

    [Fact]
    public async Task Composite_OneSinkThrows_OthersStillCalled()
    {
        var good = new Versions.CapturingAlertSink();
        var sink = new CompositeAlertSink([new ThrowingSink(), good, new LogAlertSink(NullLogger<LogAlertSink>.Instance)]);
        await sink.SendAsync(Alert);
        Assert.Single(good.Alerts);
    }

    private sealed class ThrowingSink : IAlertSink
    {
        public Task SendAsync(DataAlert alert, CancellationToken cancellationToken = default) => throw new InvalidOperationException("boom");
    }
}
