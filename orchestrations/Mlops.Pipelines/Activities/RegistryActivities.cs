using System.Text.Json;
using Microsoft.DurableTask;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Pipelines.Training;
using Mlops.Registry;
using Mlops.Registry.Gate;
using Mlops.Tracking;

namespace Mlops.Pipelines.Activities;

/// <summary>Registers the candidate as the next version, with metrics, lineage and the gate decision. Idempotent by run
/// id.</summary>
public sealed class RegisterModel(PipelineServices services) : TaskActivity<RegisterRequest, int>
{
    public override async Task<int> RunAsync(TaskActivityContext context, RegisterRequest input)
    {
        var ct = CancellationToken.None;
        var model = await services.Storage.Blobs.ReadAsync(RunArtifacts.Container, input.Trial.ModelBlob, ct)
            ?? throw new InvalidOperationException($"Model of run {input.RunId} is missing.");
        var lineage = ModelLineage.ForCurrentEnvironment() with
        {
            Dataset = input.Dataset,
            DataHash = input.DataHash,
            Params = input.Trial.Params.ToDictionary(p => p.Key, p => p.Value.ToString()),
            TrainingSeconds = input.Trial.TrainSeconds,
            RunId = input.RunId,
            Task = input.Task, // from the dataset's config: the metric name cannot tell binary from multiclass
            Algorithm = input.Trial.Trainer,
            Feedback = await FeedbackLineageAsync(input, ct),
        };
        var gate = input.Evaluation.GateDecision is { } g ? g.Deserialize<GateDecision>(Json.Options) : null;
        var version = await services.Registry.RegisterAsync(
            new RegisterModelRequest(
                input.Dataset,
                model.Data,
                new ModelMetrics(input.Evaluation.CandidateMetrics),
                lineage,
                IdempotencyKey: input.RunId,
                Gate: gate,
                Description: $"{input.Trial.Trainer}, {input.TrialCount} trial(s), data {input.DataHash[..Math.Min(12, input.DataHash.Length)]}, trigger {input.Trigger.Kind}"
                    + (input.Trigger.Reason is { } why ? $" ({why})" : "")
            ),
            ct
        );
        await WriteReferenceAsync(input, model.Data, version.Version, ct);
        return version.Version;
    }

    /// <summary>The feedback rows' provenance (written by the monitor run beside them) and how many were trained
    /// on.</summary>
    private async Task<FeedbackLineage?> FeedbackLineageAsync(RegisterRequest input, CancellationToken ct)
    {
        if (input.Trigger.FeedbackRows is not { } blob)
            return null;
        var provenance = await services.Storage.Blobs.ReadAsync(
            Mlops.Monitoring.Feedback.FeedbackStore.DefaultContainer,
            Mlops.Monitoring.Feedback.FeedbackTrainingSet.ProvenanceBlobName(blob),
            ct
        );
        var sources = provenance is null ? [] : Json.Deserialize<List<FeedbackSource>>(provenance.Data) ?? [];
        var used = input.Evaluation.Feedback;
        return new FeedbackLineage(
            $"{Mlops.Monitoring.Feedback.FeedbackStore.DefaultContainer}/{blob}",
            used?.RowsOffered ?? sources.Sum(s => s.Rows),
            used?.RowsUsed ?? 0,
            used?.MaxShare
                ?? (
                    input.Config is { } c
                        ? TrainingData.MaxFeedbackShare(c)
                        : Mlops.Monitoring.Policy.RetrainOptions.DefaultMaxFeedbackShare
                ),
            sources
        );
    }

    /// <summary>
    /// The statistics monitoring compares production traffic with, computed once from the training rows (and the
    /// held-out rows for score calibration) so a monitor run never reads training data again. Rewritten identically
    /// when the activity is retried.
    /// </summary>
    private async Task WriteReferenceAsync(RegisterRequest input, byte[] modelJson, int version, CancellationToken ct)
    {
        if (input.Config is not { } config)
            return;
        var split = await services.TrainingData.LoadSplitAsync(
            input.Dataset,
            input.TrainingHashes,
            config.TestFraction,
            config.Seed,
            TrainingData.MaxFeedbackShare(config),
            ct
        );
        var (train, test) = (split.Train, split.Test);
        var profile = Mlops.Monitoring.Reference.ReferenceProfile.Build(
            train,
            Mlops.ML.Models.Model.FromJson(System.Text.Encoding.UTF8.GetString(modelJson)),
            calibration: test
        ) with
        {
            Metrics = input.Evaluation.CandidateMetrics,
        }; // the held-out evaluation: the baseline of a performance drop
        await new Mlops.Monitoring.MonitoringStore(services.Storage.Blobs, services.Storage.Tables).WriteReferenceAsync(
            input.Dataset,
            version,
            profile,
            ct
        );
        // Global importance (mean |SHAP| over the held-out rows) also stays with the version as a file of its own.
        if (profile.Attribution is { } importance)
            await services.Registry.WriteVersionFileAsync(
                input.Dataset,
                version,
                Mlops.ML.Explain.AttributionSummary.FileName,
                System.Text.Encoding.UTF8.GetBytes(importance.ToJson()),
                ct
            );
    }
}

/// <summary>Moves an alias (production) to the version. Moving it to where it already points is a no-op, so retries are
/// safe.</summary>
public sealed class PromoteModel(PipelineServices services) : TaskActivity<PromoteRequest, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, PromoteRequest input)
    {
        var state = await services.Registry.TryGetStateAsync(input.Dataset, CancellationToken.None);
        if (state is not null && state.Aliases.TryGetValue(input.Alias, out int current) && current == input.Version)
            return true;
        if (input.Alias == ModelRegistry.ProductionAlias)
            await services.Registry.PromoteAsync(
                input.Dataset,
                input.Version,
                new ChangeContext(input.Reason, input.Actor),
                cancellationToken: CancellationToken.None
            );
        else
            await services.Registry.SetAliasAsync(
                input.Dataset,
                input.Alias,
                input.Version,
                new ChangeContext(input.Reason, input.Actor),
                CancellationToken.None
            );
        return true;
    }
}

/// <summary>Marks the version as the candidate awaiting approval and remembers which run waits for the
/// decision.</summary>
public sealed class RequestApproval(PipelineServices services) : TaskActivity<ApprovalRequest, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, ApprovalRequest input)
    {
        var ct = CancellationToken.None;
        await services.Storage.Tables.UpsertAsync(
            PipelineServices.ApprovalsTable,
            new TableRow(input.Dataset, input.Version.ToString("D10"))
            {
                ["InstanceId"] = input.InstanceId,
                ["RequestedAt"] = DateTimeOffset.UtcNow,
            },
            ct
        );
        await services.Registry.SetApprovalAsync(
            input.Dataset,
            input.Version,
            ApprovalState.Pending,
            new ChangeContext("awaiting manual approval", $"pipeline:{input.InstanceId}"),
            ct
        );
        var state = await services.Registry.TryGetStateAsync(input.Dataset, ct);
        if (state is null || !state.Aliases.TryGetValue(ModelRegistry.CandidateAlias, out int c) || c != input.Version)
            await services.Registry.SetAliasAsync(
                input.Dataset,
                ModelRegistry.CandidateAlias,
                input.Version,
                new ChangeContext("passed the gate; awaiting approval", $"pipeline:{input.InstanceId}"),
                ct
            );
        return true;
    }
}

/// <summary>Stores the reviewer's decision on the version.</summary>
public sealed class RecordApproval(PipelineServices services) : TaskActivity<ApprovalRecord, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, ApprovalRecord input)
    {
        await services.Registry.SetApprovalAsync(
            input.Dataset,
            input.Version,
            input.Decision.Approved ? ApprovalState.Approved : ApprovalState.Rejected,
            new ChangeContext(
                input.Decision.Comment ?? (input.Decision.Approved ? "approved" : "rejected"),
                input.Decision.By
            ),
            CancellationToken.None
        );
        return true;
    }
}
