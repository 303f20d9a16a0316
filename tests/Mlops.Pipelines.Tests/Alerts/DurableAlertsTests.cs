using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;
using Mlops.Pipelines.Activities;
using Mlops.Storage.InMemory;
using Mlops.Testing;
using Xunit;

namespace Mlops.Pipelines.Tests.Alerts;

/// <summary>
/// The one alert delivery path (<see cref="DurableAlerts"/> + <see cref="SendAlert"/>) on the in-process durable test
/// host: a failing webhook is retried, then recorded as failed; a delivered alert is recorded once and not sent again.
/// </summary>
public sealed class DurableAlertsTests
{
    private const string Orchestrator = "SendOneAlert";

    /// <summary>Three attempts, 100 ms apart: the production policy's shape in test time.</summary>
    private static readonly TaskOptions FastRetry = TaskOptions.FromRetryPolicy(
        new RetryPolicy(3, TimeSpan.FromMilliseconds(100), 1)
    );

    private static readonly Alert Drift = new(
        AlertSeverity.Warning,
        "monitor_breach",
        "data_drift",
        "3 of 4 features drifted.",
        Dataset: "churn",
        Model: "churn",
        ReportLink: "monitoring/churn/run-1/report.json",
        Window: "2026-12-01T00:00Z/2026-12-02T00:00Z",
        Time: DateTimeOffset.UnixEpoch
    );

    /// <summary>The host's own sink (the log, in the app): counts what reached it.</summary>
    private sealed class CountingSink : IAlertSink
    {
        public ConcurrentQueue<Alert> Received { get; } = new();

        public Task SendAsync(Alert alert, CancellationToken cancellationToken = default)
        {
            Received.Enqueue(alert);
            return Task.CompletedTask;
        }
    }

    private static Task<DurableTaskTestHost> StartAsync(CountingSink hostSink, InMemoryTableStore tables) =>
        DurableTaskTestHost.StartAsync(
            r =>
                r.AddAlertDelivery()
                    .AddOrchestratorFunc<AlertRequest, bool>(Orchestrator, (context, request) =>
                        DurableAlerts.SendAsync(context, request, FastRetry)
                    ),
            new DurableTaskTestHostOptions
            {
                Port = AzuriteInstance.FreePort(),
                ConfigureServices = services =>
                {
                    services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
                    services.AddSingleton<ITableStore>(tables);
                    services.AddSingleton<IAlertSink>(hostSink);
                    // The receiver is a plain-http listener on this machine.
                    services.AddSingleton(new WebhookOptions { AllowHttp = true, AllowLoopbackForTests = true });
                },
            }
        );

    private static async Task<bool> SendAsync(DurableTaskTestHost host, AlertRequest request)
    {
        string id = await host.Client.ScheduleNewOrchestrationInstanceAsync(Orchestrator, request);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var state = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.True(
            state.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
            $"{state.RuntimeStatus}: {state.FailureDetails?.ErrorMessage}"
        );
        return state.ReadOutputAs<bool>();
    }

    private static async Task<TableRow> RecordAsync(ITableStore tables, Alert alert) =>
        await tables.GetAsync(SendAlert.Table, alert.Subject, SendAlert.RowKey(alert))
        ?? throw new Xunit.Sdk.XunitException("no record");

    [Fact]
    public async Task SendAsync_WebhookAnswers500_RetriedThenRecordedAsFailed_NotSentAgain()
    {
        using var receiver = new WebhookReceiver { AnswerStatus = 500 };
        var hostSink = new CountingSink();
        var tables = new InMemoryTableStore();
        await using var host = await StartAsync(hostSink, tables);

        bool delivered = await SendAsync(host, new AlertRequest(receiver.Url(), Drift));

        Assert.False(delivered);
        Assert.Equal(3, receiver.Bodies.Count); // every attempt reached the receiver: the sink threw, the policy retried
        Assert.Equal(3, hostSink.Received.Count);
        var record = await RecordAsync(tables, Drift);
        Assert.Equal(SendAlert.Failed, record.GetString("Status"));
        Assert.Contains("answered 500", record.GetString("Error"));
        Assert.Equal(Drift.DedupKey, record.GetString("DedupKey"));

        // The give-up is the record: the same alert is not tried again.
        receiver.AnswerStatus = 200;
        Assert.False(await SendAsync(host, new AlertRequest(receiver.Url(), Drift)));
        Assert.Equal(3, receiver.Bodies.Count);
    }

    [Fact]
    public async Task SendAsync_WebhookAnswers200_DeliveredOnceAndRecordedOnce()
    {
        using var receiver = new WebhookReceiver();
        var hostSink = new CountingSink();
        var tables = new InMemoryTableStore();
        await using var host = await StartAsync(hostSink, tables);

        Assert.True(await SendAsync(host, new AlertRequest(receiver.Url(), Drift)));
        Assert.False(
            await SendAsync(host, new AlertRequest(receiver.Url(), Drift with { Message = "same key, sent again" }))
        );

        using var body = JsonDocument.Parse(Assert.Single(receiver.Bodies));
        Assert.Equal(Drift.DedupKey, body.RootElement.GetProperty("dedupKey").GetString());
        Assert.Equal("warning", body.RootElement.GetProperty("alert").GetProperty("severity").GetString());
        Assert.Equal([Drift], hostSink.Received);
        var record = Assert.Single(await tables.QueryAsync(SendAlert.Table, Drift.Subject));
        Assert.Equal(SendAlert.Delivered, record.GetString("Status"));
        Assert.Null(record.GetString("Error"));
    }

    [Fact]
    public async Task SendAsync_NoWebhook_HostSinkOnly_Recorded()
    {
        var hostSink = new CountingSink();
        var tables = new InMemoryTableStore();
        await using var host = await StartAsync(hostSink, tables);

        Assert.True(await SendAsync(host, new AlertRequest(null, Drift)));

        Assert.Equal([Drift], hostSink.Received);
        Assert.Equal(SendAlert.Delivered, (await RecordAsync(tables, Drift)).GetString("Status"));
    }
}
