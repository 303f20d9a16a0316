using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Mlops.Pipelines.Activities;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;
using Mlops.Pipelines.Training;
using Mlops.Testing;
using Mlops.Tracking;
using Xunit;

namespace Mlops.Pipelines.Tests.Training;

/// <summary>
/// The training orchestrator's decisions without storage: on durabletask-dotnet's in-process test host, with each
/// activity replaced by a scripted one of the same name. What is checked is the order of calls and the outcome.
/// </summary>
public sealed class TrainingPipelineTests
{
    private readonly ConcurrentQueue<string> _calls = new();

    private async Task<DurableTaskTestHost> StartAsync(PipelineConfig config, bool gatePasses)
    {
        var trial = new TrialResult("r", [], "gbdt", "auc", 0.9, true, new() { ["auc"] = 0.9 }, 1, "m");
        return await DurableTaskTestHost.StartAsync(
            r =>
                r.AddOrchestrator<TrainingPipeline>()
                    .AddActivityFunc<TrainingRequest, IngestResult>(nameof(IngestData), (_, i) =>
                        Record("ingest", new IngestResult(i.Dataset, "abc123", true, 100, config, ["abc123"]))
                    )
                    .AddActivityFunc<ValidateRequest, ValidationResult>(nameof(ValidateData), (_, _) =>
                        Record("validate", new ValidationResult("accepted", true, "ok", 0, 0, null))
                    )
                    .AddActivityFunc<TrialRequest, TrialResult>(nameof(TrainCandidate), (_, t) =>
                        Record("train:" + t.RunId, trial with { RunId = t.RunId })
                    )
                    .AddActivityFunc<EvaluateRequest, EvaluationResult>(nameof(EvaluateCandidate), (_, e) =>
                        Record(
                            "evaluate",
                            new EvaluationResult(
                                e.Candidate.RunId,
                                new() { ["auc"] = 0.9 },
                                null,
                                gatePasses ? null : 1,
                                gatePasses,
                                gatePasses ? [] : ["worse than production"],
                                "auc",
                                null,
                                null
                            )
                        )
                    )
                    .AddActivityFunc<RegisterRequest, int>(nameof(RegisterModel), (_, _) => Record("register", 7))
                    .AddActivityFunc<ApprovalRequest, bool>(nameof(RequestApproval), (_, _) =>
                        Record("request-approval", true)
                    )
                    .AddActivityFunc<ApprovalRecord, bool>(nameof(RecordApproval), (_, a) =>
                        Record("record-approval:" + a.Decision.Approved, true)
                    )
                    .AddActivityFunc<PromoteRequest, bool>(nameof(PromoteModel), (_, p) =>
                        Record("promote:v" + p.Version, true)
                    ),
            new DurableTaskTestHostOptions { Port = AzuriteInstance.FreePort() }
        );
    }

    private T Record<T>(string call, T result)
    {
        _calls.Enqueue(call);
        return result;
    }

    internal static async Task<OrchestrationMetadata> RunAsync(DurableTaskTestHost host, string id)
    {
        await host.Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(TrainingPipeline),
            new TrainingRequest("ds", PipelineTrigger.Manual()),
            new StartOrchestrationOptions(id)
        );
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await host.Client.WaitForInstanceCompletionAsync(id, true, cts.Token);
    }

    [Fact]
    public async Task GatePassed_AutoApproval_PromotesTheRegisteredVersion()
    {
        await using var host = await StartAsync(new PipelineConfig { Target = "y", Task = "binary" }, gatePasses: true);
        var done = await RunAsync(host, "auto");
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("promoted", done.ReadOutputAs<PipelineResult>()!.Outcome);
        Assert.Equal(["ingest", "validate", "train:auto-t0", "evaluate", "register", "promote:v7"], _calls);
    }

    [Fact]
    public async Task GateRejected_RegistersButNeverPromotes()
    {
        await using var host = await StartAsync(
            new PipelineConfig { Target = "y", Task = "binary" },
            gatePasses: false
        );
        var done = await RunAsync(host, "gated");
        Assert.Equal("gate-rejected", done.ReadOutputAs<PipelineResult>()!.Outcome);
        Assert.DoesNotContain(_calls, c => c.StartsWith("promote", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ManualApproval_WaitsForTheEvent_ThenRecordsAndPromotes()
    {
        await using var host = await StartAsync(
            new PipelineConfig
            {
                Target = "y",
                Task = "binary",
                Approval = "manual",
            },
            gatePasses: true
        );
        await host.Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(TrainingPipeline),
            new TrainingRequest("ds", PipelineTrigger.Manual()),
            new StartOrchestrationOptions("manual")
        );
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!_calls.Contains("request-approval") && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.DoesNotContain(_calls, c => c.StartsWith("promote", StringComparison.Ordinal)); // waiting, not promoting
        await host.Client.RaiseEventAsync(
            "manual",
            TrainingPipeline.ApprovalEvent,
            new ApprovalDecision(true, "admin")
        );
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var done = await host.Client.WaitForInstanceCompletionAsync("manual", true, cts.Token);
        Assert.Equal("promoted", done.ReadOutputAs<PipelineResult>()!.Outcome);
        Assert.Equal(["record-approval:True", "promote:v7"], _calls.Skip(_calls.Count - 2));
    }
}
