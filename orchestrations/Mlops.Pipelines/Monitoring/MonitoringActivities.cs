using Microsoft.DurableTask;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Monitoring;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Reports;
using Mlops.Monitoring.Window;
using Mlops.Registry;

namespace Mlops.Pipelines.Monitoring;

/// <summary>Resolves the baseline version, the window and the settings of a run.</summary>
public sealed class PrepareMonitorRun(IMonitoringSource source) : TaskActivity<PrepareInput, MonitorPlan>
{
    /// <inheritdoc />
    public override async Task<MonitorPlan> RunAsync(TaskActivityContext context, PrepareInput input)
    {
        string model = RegistryNames.CheckModel(input.Request.Model);
        string json = await source.GetMonitoringJsonAsync(model, CancellationToken.None).ConfigureAwait(false) ?? "{}";
        var options = MonitoringSourceExtensions.ParseOptions(json); // fails the run with the key named when the section is invalid
        int version = input.Request.Version
            ?? await source.GetServingVersionAsync(model, CancellationToken.None).ConfigureAwait(false)
            ?? throw new MonitoringException(
                "monitoring.nothing_served",
                $"Model '{model}' has no production version to monitor; promote a version first.",
                404
            );
        return new MonitorPlan(
            model,
            input.RunId,
            version,
            input.WindowEnd - options.Window,
            input.WindowEnd,
            input.Request.Version,
            json
        );
    }
}

/// <summary>Computes the report over the window and writes <c>report.json</c>, <c>report.html</c> and the summary
/// row.</summary>
/// <remarks>
/// With <see cref="IBaselineData"/> registered (the host does), the monitored version's model explains a sample of the
/// window for attribution drift when the version has a registration-time importance.
/// </remarks>
public sealed class ComputeMonitorReport(
    MonitorRunner runner,
    MonitoringStore store,
    FeedbackStore feedback,
    IClock clock,
    IBaselineData? models = null
) : TaskActivity<MonitorPlan, MonitorOutcome>
{
    /// <inheritdoc />
    public override async Task<MonitorOutcome> RunAsync(TaskActivityContext context, MonitorPlan plan)
    {
        var options = MonitoringSourceExtensions.ParseOptions(plan.MonitoringJson);
        var reference = await store.ReadReferenceAsync(plan.Model, plan.ReferenceVersion).ConfigureAwait(false);
        var now = clock.UtcNow;
        var served =
            reference.Attribution is not null && models is not null
                ? await models
                    .LoadModelAsync(plan.Model, plan.ReferenceVersion, CancellationToken.None)
                    .ConfigureAwait(false)
                : null;
        var report = await runner
            .RunAsync(
                plan.Model,
                plan.RunId,
                reference,
                plan.ReferenceVersion,
                plan.From,
                plan.To,
                now,
                options,
                plan.Version,
                servedModel: served
            )
            .ConfigureAwait(false);
        string blob = await store.SaveReportAsync(report).ConfigureAwait(false);

        // Realized metrics when enough labels were joined; otherwise the CBPE estimate stands in (flagged as such).
        bool estimated = !report.Performance.Sufficient;
        var metrics = estimated
            ? report.EstimatedPerformance?.Metrics ?? new Dictionary<string, double>()
            : report.Performance.Metrics;
        var history = await store
            .GetHistoryAsync(plan.Model, now, options.Retrain?.Cooldown ?? TimeSpan.Zero)
            .ConfigureAwait(false);
        var since = history.RetrainsStarted.Count > 0 ? history.RetrainsStarted.Max() : reference.CreatedUtc;
        long newLabels = await feedback.CountLabelsSinceAsync(plan.Model, since).ConfigureAwait(false);
        var signals = new MonitorSignals(
            now,
            metrics,
            estimated,
            reference.Metrics,
            report.DataDrift.Tested > 0 ? report.DataDrift.Share : null,
            newLabels,
            report.AttributionDrift?.MaxShift
        );
        return new MonitorOutcome(blob, report.Verdicts, signals);
    }
}

/// <summary>Runs the retraining policy, records the decision (table and report) and returns it.</summary>
public sealed class EvaluateRetrainPolicy(MonitoringStore store) : TaskActivity<PolicyInput, RetrainDecision>
{
    /// <inheritdoc />
    public override async Task<RetrainDecision> RunAsync(TaskActivityContext context, PolicyInput input)
    {
        var options = MonitoringSourceExtensions.ParseOptions(input.Plan.MonitoringJson);
        var history = await store
            .GetHistoryAsync(input.Plan.Model, input.Now, options.Retrain?.Cooldown ?? TimeSpan.Zero)
            .ConfigureAwait(false);
        var decision = RetrainPolicy.Decide(options.Retrain, input.Outcome.Signals with { Now = input.Now }, history);
        await store
            .RecordDecisionAsync(input.Plan.Model, input.Plan.RunId, decision, retrainRunId: null)
            .ConfigureAwait(false);
        if (await store.ReadReportAsync(input.Plan.Model, input.Plan.RunId).ConfigureAwait(false) is { } report)
            await store.SaveReportAsync(report with { Decision = decision }).ConfigureAwait(false);
        return decision;
    }
}

/// <summary>
/// Starts the training pipeline through the host's <see cref="IRetrainLauncher"/> and records the run id on the
/// decision. With <c>trainOn</c> including <c>feedback</c>, first writes the labeled production rows of the lookback as
/// <c>labels/{model}/training/{runId}.csv</c> (model inputs + target) and names that blob in the reason.
/// </summary>
public sealed class StartRetraining(
    IRetrainLauncher launcher,
    MonitoringStore store,
    PredictionLogReader log,
    FeedbackStore feedback,
    IBlobStore blobs,
    IClock clock
) : TaskActivity<RetrainInput, string>
{
    /// <inheritdoc />
    public override async Task<string> RunAsync(TaskActivityContext context, RetrainInput input)
    {
        var plan = input.Plan;
        var options = MonitoringSourceExtensions.ParseOptions(plan.MonitoringJson);
        string reason = $"monitor run {plan.RunId}: {input.Decision.Reason}";
        string? feedbackRows = null;
        if (options.Retrain?.TrainOn.Contains("feedback", StringComparison.Ordinal) == true)
        {
            var reference = await store.ReadReferenceAsync(plan.Model, plan.ReferenceVersion).ConfigureAwait(false);
            var (csv, rows, sources) = await FeedbackTrainingSet
                .BuildWithProvenanceAsync(
                    log,
                    feedback,
                    plan.Model,
                    reference,
                    plan.To - options.Lookback,
                    plan.To,
                    clock.UtcNow
                )
                .ConfigureAwait(false);
            if (rows > 0)
            {
                string blob = FeedbackTrainingSet.BlobName(plan.Model, plan.RunId);
                // Provenance first: the rows are only used when their provenance can be recorded in the version's
                // lineage.
                await blobs
                    .WriteAsync(
                        FeedbackStore.DefaultContainer,
                        FeedbackTrainingSet.ProvenanceBlobName(blob),
                        Mlops.Core.Json.SerializeToUtf8(sources)
                    )
                    .ConfigureAwait(false);
                await blobs.WriteAsync(FeedbackStore.DefaultContainer, blob, csv).ConfigureAwait(false);
                feedbackRows = blob;
                reason +=
                    $"; trainOn {options.Retrain.TrainOn}: {rows} labeled production rows in {FeedbackStore.DefaultContainer}/{blob}";
            }
        }
        string runId = await launcher
            .StartRetrainingAsync(plan.Model, reason, feedbackRows, CancellationToken.None)
            .ConfigureAwait(false);
        await store.RecordDecisionAsync(plan.Model, plan.RunId, input.Decision, runId).ConfigureAwait(false);
        return runId;
    }
}
