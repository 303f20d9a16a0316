using System.Text.Json;
using Microsoft.DurableTask;
using Mlops.Data;
using Mlops.Data.Validation;
using Mlops.Data.Versions;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Training;
using IngestResult = Mlops.Pipelines.Training.IngestResult;

namespace Mlops.Pipelines.Activities;

/// <summary>
/// Reads the dataset's mlops.json and stores the data as a content-addressed version (profiled and validated on the
/// way in). A drop ingests the dropped blob; a manual or scheduled run uses the latest accepted version. Idempotent:
/// the same bytes always give the same version.
/// </summary>
public sealed class IngestData(PipelineServices services) : TaskActivity<TrainingRequest, IngestResult>
{
    public override async Task<IngestResult> RunAsync(TaskActivityContext context, TrainingRequest input)
    {
        var ct = CancellationToken.None;
        string dataset = input.Dataset;
        PipelineConfig config;
        try
        {
            config = await PipelineConfigLoader.LoadAsync(services.Storage.Blobs, dataset, ct);
        }
        catch (PipelineConfigException e)
        {
            return Failed(dataset, e.Message);
        }

        ValidationOptions? validation;
        try
        {
            validation = ParseValidation(config.Validation);
        }
        catch (Exception e) when (e is JsonException or DataException)
        {
            return Failed(
                dataset,
                $"{PipelineConfigLoader.IncomingContainer}/{PipelineConfigLoader.ConfigBlobName(dataset)}: the \"validation\" section is invalid ({e.Message})."
            );
        }

        string hash;
        bool isNew;
        long rows;
        if (input.Trigger.Kind == "drop")
        {
            string blobName = input.Trigger.BlobName!;
            await using var stream = await services.Storage.Blobs.OpenReadAsync(
                PipelineConfigLoader.IncomingContainer,
                blobName,
                ct
            );
            if (stream is null)
                return Failed(
                    dataset,
                    $"{PipelineConfigLoader.IncomingContainer}/{blobName} no longer exists; drop the file again."
                );
            var result = await services.Datasets.IngestAsync(
                dataset,
                stream,
                $"{PipelineConfigLoader.IncomingContainer}/{blobName}",
                new IngestOptions(
                    config.Target,
                    validation,
                    new TrainingRequirements(TrainingRequirements.ParseTask(config.Task)!.Value, config.TestFraction)
                ),
                ct
            );
            (hash, isNew, rows) = (result.Version.Hash, result.IsNew, result.Version.Rows);
        }
        else
        {
            var latest = await services.Datasets.LatestUsableAsync(dataset, ct);
            if (latest is null)
                return Failed(
                    dataset,
                    $"Dataset '{dataset}' has no accepted data version yet: drop a CSV file into {PipelineConfigLoader.IncomingContainer}/{dataset}/ first."
                );
            (hash, isNew, rows) = (latest.Hash, true, latest.Rows);
        }

        IReadOnlyList<string> hashes = [hash];
        if (config.Mode == "append")
        {
            // Only the version list is needed here; the trials load (and cache) the rows themselves.
            var set = await services.Datasets.PlanTrainingSetAsync(
                dataset,
                new TrainingSetRequest(TrainingSetMode.Append),
                ct
            );
            hashes = set.Hashes.Contains(hash) ? set.Hashes : [.. set.Hashes, hash];
            rows = set.Rows;
        }
        // trainOn ...+feedback: the labeled production rows the monitor run wrote join the training set as a member of
        // their own (not a dataset version, so "latest version" and drift references keep meaning the dropped data).
        if (input.Trigger.FeedbackRows is { } feedbackRows)
            hashes = [.. hashes, TrainingData.FeedbackRowsPrefix + feedbackRows];
        return new IngestResult(dataset, hash, isNew, rows, config, hashes);
    }

    private static IngestResult Failed(string dataset, string error) =>
        new(dataset, "", false, 0, new PipelineConfig(), [], error);

    /// <summary>Parses and range-checks the validation section now, so a bad value fails the run with its
    /// name.</summary>
    internal static ValidationOptions? ParseValidation(JsonElement? section) =>
        section is { ValueKind: JsonValueKind.Object } s ? ValidationOptionsJson.FromElement(s) : null;
}
