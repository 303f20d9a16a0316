using Azure;
using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Mlops.Core.Storage;
using Mlops.Data.Alerts;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Launching;

namespace Mlops.Functions.Functions;

/// <summary>
/// Event Grid blob trigger on <c>incoming/{dataset}/{name}</c>: a CSV starts the training pipeline for that dataset.
/// Stateless and idempotent: the instance id is derived from the blob name and ETag, so a redelivered event starts one
/// run. The dataset's own <c>mlops.json</c> is ignored here (it configures runs, it is not data); any other refused
/// drop is logged, recorded (<see cref="Triggers.DropRefusals"/>, listed with the dataset's runs) and sent to the
/// host's alert sink (the log, and <c>MLOPS_ALERT_WEBHOOK</c> when set: a drop under a name that is no dataset is
/// listed nowhere else), and the function returns: retrying cannot fix a name, and five failures into the poison queue
/// would only hide it.
/// </summary>
public sealed class DataDropped(StorageServices storage, IAlertSink alerts, ILogger<DataDropped> log)
{
    /// <summary>The anomaly code of a refused drop's alert.</summary>
    public const string RefusedCode = "drop_refused";

    /// <summary>The function's name.</summary>
    public const string Name = nameof(DataDropped);

    /// <summary>The drop zone.</summary>
    public const string Container = PipelineConfigLoader.IncomingContainer;

    /// <summary>The trigger's blob path.</summary>
    public const string Path = Container + "/{dataset}/{name}";

    /// <summary>The Event Grid blob trigger (the only blob trigger source on Flex Consumption), with the durable
    /// client.</summary>
    [Function(Name)]
    public async Task Run(
        [BlobTrigger(Path, Source = BlobTriggerSource.EventGrid, Connection = "AzureWebJobsStorage")] BlobClient blob,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken
    )
    {
        string etag;
        try
        {
            etag = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ETag.ToString();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Deleted (or replaced and deleted) before the event arrived: there is nothing to ingest.
            log.LogWarning("{Blob} is gone; nothing to ingest", $"{Container}/{blob.Name}");
            return;
        }
        await RunAsync(blob.Name, etag, new DurablePipelineLauncher(client), cancellationToken);
    }

    /// <summary>
    /// Starts the run of one drop; returns its instance id, or null for a blob that is not ingested (the config file,
    /// or a refused drop, which is logged and recorded).
    /// </summary>
    public async Task<string?> RunAsync(
        string blobName,
        string etag,
        IPipelineLauncher launcher,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(blobName);
        ArgumentNullException.ThrowIfNull(launcher);
        if (PipelineConfigLoader.IsConfigBlob(blobName, out string configured))
        {
            log.LogInformation(
                "{Blob}: configuration of dataset {Dataset}, not data; it applies to the next run",
                $"{Container}/{blobName}",
                configured
            );
            return null;
        }
        if (Refusal(blobName) is { } refusal)
        {
            log.LogWarning("{Blob} not ingested: {Reason}", $"{Container}/{blobName}", refusal.Reason);
            var at = DateTimeOffset.UtcNow;
            await new Triggers.DropRefusals(storage.Tables).RecordAsync(
                refusal.Dataset,
                blobName,
                refusal.Reason,
                at,
                cancellationToken
            );
            // Best effort: the refusal is already recorded (and listed); a failed delivery is logged, not retried, so a
            // receiver that is down does not send the drop through the trigger's retries into the poison queue.
            var alert = new Alert(
                AlertSeverity.Error,
                RefusedCode,
                "drop",
                refusal.Reason,
                Dataset: refusal.Dataset ?? Triggers.DropRefusals.NoDatasetPartition,
                ReportLink: $"{Container}/{blobName}",
                Window: blobName,
                Time: at
            );
            try
            {
                await alerts.SendAsync(alert, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "The alert for the refused drop {Blob} was not delivered", $"{Container}/{blobName}");
            }
            return null;
        }
        string dataset = blobName[..blobName.IndexOf('/')];
        string instanceId = PipelineInstanceIds.ForDrop(dataset, blobName, etag);
        await launcher.StartTrainingAsync(dataset, PipelineTrigger.Drop(blobName, etag), instanceId, cancellationToken);
        log.LogInformation(
            "{Blob} dropped: training run {InstanceId} started for dataset {Dataset}",
            $"{Container}/{blobName}",
            instanceId,
            dataset
        );
        return instanceId;
    }

    /// <summary>
    /// Why a blob is not ingested (null when it is). Storage clients collapse "." and ".." segments (escaped or not),
    /// which would move a drop into another dataset or container: such names are refused, never reinterpreted.
    /// </summary>
    public static (string? Dataset, string Reason)? Refusal(string blobName)
    {
        var segments = blobName.Split('/');
        if (segments.Any(s => s.Length == 0 || Uri.UnescapeDataString(s) is "." or ".."))
            return (
                null,
                $"{Container}/{blobName}: names with empty, '.' or '..' segments are not ingested; put files directly under {Container}/<dataset>/."
            );
        if (!Mlops.Core.Naming.DatasetName.TryParse(segments[0], out _, out string? why))
            return (
                null,
                $"'{segments[0]}' is not a usable dataset name: {why}. "
                    + $"Put data under {Container}/<dataset>/ with a name of lower-case letters, digits and '-'."
            );
        string dataset = segments[0];
        if (segments.Length != 2)
            return (
                dataset,
                $"{Container}/{blobName}: files in sub-folders are not ingested; put the CSV directly under {Container}/{dataset}/."
            );
        if (!blobName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            return (
                dataset,
                $"{Container}/{blobName}: only .csv files are ingested "
                    + $"(the config file is {Container}/{dataset}/{PipelineConfigLoader.ConfigFileName})."
            );
        return null;
    }
}
