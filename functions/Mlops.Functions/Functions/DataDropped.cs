using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Functions.Triggers;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;

namespace Mlops.Functions.Functions;

/// <summary>
/// Blob trigger on <c>incoming/{dataset}/{name}.csv</c>: starts the training pipeline for that dataset. Stateless: the
/// instance id is derived from the blob name and ETag, so a retried or duplicated trigger starts one run.
/// </summary>
public sealed class DataDropped(ILogger<DataDropped> log)
{
    public const string Name = nameof(DataDropped);
    public const string Container = PipelineConfigLoader.IncomingContainer;
    public const string Path = Container + "/{dataset}/{name}";

    /// <summary>Which blobs fire the trigger: anything under a dataset folder except the dataset's own config file.</summary>
    public static bool Matches(string blobName) =>
        blobName.Contains('/') && !PipelineConfigLoader.IsConfigBlob(blobName, out _);

    /// <summary>Under the Functions host: the Event Grid blob trigger (Flex Consumption) with the durable client.</summary>
    [Function(Name)]
    public async Task Run(
        [BlobTrigger(Path, Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        await RunAsync(new BlobTriggerEvent(Container, blob.Name, properties.ETag.ToString(), properties.ContentLength, 1), new DurablePipelineLauncher(client), cancellationToken);
    }

    public async Task<string?> RunAsync(BlobTriggerEvent blob, IPipelineLauncher launcher, CancellationToken cancellationToken = default)
    {
        // Storage clients collapse "." and ".." segments (escaped or not), which would move a drop into another
        // dataset or container: such names are refused loudly (the receipt records why), never reinterpreted.
        if (blob.Name.Split('/').Any(s => Uri.UnescapeDataString(s) is "." or ".." || s.Length == 0))
            throw new UnsupportedBlobException($"{Container}/{blob.Name}: names with empty, '.' or '..' segments are not ingested; put files directly under {Container}/<dataset>/.");
        string dataset = blob.Name[..blob.Name.IndexOf('/')];
        if (!Mlops.Core.Naming.DatasetName.TryParse(dataset, out _, out string? why))
            throw new UnsupportedBlobException($"'{dataset}' is not a usable dataset name: {why}. Put data under {Container}/<dataset>/ with a name of letters, digits, '-' or '_'.");
        if (!blob.Name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            throw new UnsupportedBlobException($"{Container}/{blob.Name}: only .csv files are ingested (the config file is {Container}/{dataset}/{PipelineConfigLoader.ConfigFileName}).");
        string instanceId = PipelineInstanceIds.ForDrop(dataset, blob.Name, blob.ETag);
        await launcher.StartTrainingAsync(dataset, PipelineTrigger.Drop(blob.Name, blob.ETag), instanceId, cancellationToken);
        log.LogInformation("{Blob} dropped: training run {InstanceId} started for dataset {Dataset}", $"{Container}/{blob.Name}", instanceId, dataset);
        return instanceId;
    }
}
