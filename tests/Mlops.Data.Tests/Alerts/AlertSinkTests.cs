using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Data.Alerts;
using Xunit;

namespace Mlops.Data.Tests.Alerts;

public class AlertSinkTests
{
    private static readonly Alert Quarantined = new(
        AlertSeverity.Error,
        "data_quarantined",
        "label_shift",
        "**QUARANTINED** label balance shifted",
        Dataset: "churn",
        ReportLink: "quarantine/churn/aaa/validation.json",
        Window: new string('a', 64),
        Time: DateTimeOffset.UnixEpoch
    );

    /// <summary>Keeps every log entry: level and formatted message.</summary>
    private sealed class CapturingLogger<T> : ILogger<T>
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(
            LogLevel logLevel,
            EventId eventId,
            TState state,
            Exception? exception,
            Func<TState, Exception?, string> formatter
        ) => Entries.Add((logLevel, formatter(state, exception)));
    }

    private sealed class CapturingSink : IAlertSink
    {
        public List<Alert> Alerts { get; } = [];

        public Task SendAsync(Alert alert, CancellationToken cancellationToken = default)
        {
            Alerts.Add(alert);
            return Task.CompletedTask;
        }
    }

    private sealed class ThrowingSink(string why) : IAlertSink
    {
        public Task SendAsync(Alert alert, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException(why);
    }

    [Theory]
    [InlineData(AlertSeverity.Error, LogLevel.Error)]
    [InlineData(AlertSeverity.Warning, LogLevel.Warning)]
    [InlineData(AlertSeverity.Info, LogLevel.Information)]
    public async Task LogSink_Alert_LogsOneEntryAtItsSeverityWithKindSubjectKeyMessageAndReport(
        AlertSeverity severity,
        LogLevel level
    )
    {
        var logger = new CapturingLogger<LogAlertSink>();

        await new LogAlertSink(logger).SendAsync(Quarantined with { Severity = severity });

        var (logged, message) = Assert.Single(logger.Entries);
        Assert.Equal(level, logged);
        Assert.Contains("data_quarantined", message);
        Assert.Contains("churn", message);
        Assert.Contains(Quarantined.DedupKey, message);
        Assert.Contains("label balance shifted", message);
        Assert.Contains("quarantine/churn/aaa/validation.json", message);
    }

    [Fact]
    public async Task Composite_OneSinkThrows_OthersStillCalled_ThenTheFailureIsThrown()
    {
        var before = new CapturingSink();
        var after = new CapturingSink();
        var sink = new CompositeAlertSink([before, new ThrowingSink("receiver down"), after]);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => sink.SendAsync(Quarantined));

        Assert.Equal("receiver down", e.Message);
        Assert.Equal([Quarantined], before.Alerts);
        Assert.Equal([Quarantined], after.Alerts);
    }

    [Fact]
    public async Task Composite_TwoSinksThrow_AggregateNamesBoth()
    {
        var sink = new CompositeAlertSink([new ThrowingSink("first"), new ThrowingSink("second")]);

        var e = await Assert.ThrowsAsync<AggregateException>(() => sink.SendAsync(Quarantined));

        Assert.Equal(["first", "second"], e.InnerExceptions.Select(x => x.Message));
    }

    [Fact]
    public async Task Composite_AllSucceed_DoesNotThrow()
    {
        var captured = new CapturingSink();
        await new CompositeAlertSink([captured, new LogAlertSink(NullLogger<LogAlertSink>.Instance)]).SendAsync(
            Quarantined
        );
        Assert.Single(captured.Alerts);
    }

    [Fact]
    public void Create_WithoutWebhook_LogOnly_WithWebhook_LogThenTheSafeSender()
    {
        Assert.IsType<LogAlertSink>(AlertSinks.Create(null, NullLoggerFactory.Instance));

        var both = Assert.IsType<CompositeAlertSink>(
            AlertSinks.Create("https://hooks.example.com/alert", NullLoggerFactory.Instance, new WebhookOptions())
        );

        Assert.IsType<LogAlertSink>(both.Sinks[0]);
        Assert.Equal("https://hooks.example.com/alert", Assert.IsType<SafeWebhookSender>(both.Sinks[1]).Url.ToString());
    }

    [Fact]
    public void DedupKey_SameSubjectSignalAndWindow_Equal_OtherWindow_Different()
    {
        Assert.Equal($"churn|label_shift|{new string('a', 64)}", Quarantined.DedupKey);
        Assert.Equal(
            Quarantined.DedupKey,
            (Quarantined with { Message = "other words", Time = DateTimeOffset.UtcNow }).DedupKey
        );
        Assert.NotEqual(Quarantined.DedupKey, (Quarantined with { Window = "b" }).DedupKey);
        Assert.Equal("churn", Quarantined.Subject);
        Assert.Equal("model-x", (Quarantined with { Model = "model-x" }).Subject);
    }
}
