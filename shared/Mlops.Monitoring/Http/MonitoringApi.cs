using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Reports;
using Mlops.Registry;

namespace Mlops.Monitoring.Http;

/// <summary>Answer of <c>POST /api/models/{model}/monitor</c>.</summary>
/// <param name="Model">Model.</param>
/// <param name="RunId">Run id (orchestration instance id); the report appears under it when the run completes.</param>
public sealed record MonitorStarted(string Model, string RunId);

/// <summary>Answer of <c>GET /api/models/{model}/monitoring</c>: the latest runs, newest first.</summary>
/// <param name="Model">Model.</param>
/// <param name="Runs">Run summaries.</param>
public sealed record MonitoringListing(string Model, IReadOnlyList<MonitorRunSummary> Runs);

/// <summary>
/// The monitoring HTTP API as plain methods (request in, response out, <see cref="MonitoringException"/> for anything
/// the caller can fix), so a minimal-API route, a Functions HTTP trigger or a test can call the same code.
/// </summary>
public sealed class MonitoringApi(FeedbackStore feedback, MonitoringStore store, IMonitorLauncher launcher, IMonitoringSource source)
{
    /// <summary>Container of the feedback drop zone: <c>feedback/{model}/{name}.csv</c>.</summary>
    public const string DropContainer = "feedback";

    /// <summary>Largest feedback body accepted (10,000 labels with long client ids fit easily).</summary>
    public const int MaxFeedbackBytes = 16 << 20;

    /// <summary>Ingests a feedback batch: JSON <c>{"labels":[…]}</c>, or CSV <c>predictionId,label</c> when the content type is <c>text/csv</c>.</summary>
    public async Task<FeedbackReceipt> PostFeedbackAsync(string model, string? contentType, Stream body, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        var options = await source.GetOptionsAsync(model, cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxFeedbackBytes)
                throw new MonitoringException("monitoring.feedback_too_large", $"The feedback body exceeds {MaxFeedbackBytes >> 20} MiB; send at most {FeedbackStore.MaxBatch} labels per request.", 413);
            buffer.Write(chunk, 0, read);
        }
        bool csv = contentType is not null && contentType.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase);
        try
        {
            if (csv)
            {
                buffer.Position = 0;
                return await feedback.IngestCsvAsync(model, buffer, options.Lookback, cancellationToken).ConfigureAwait(false);
            }
            return await feedback.IngestJsonAsync(model, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), options.Lookback, cancellationToken).ConfigureAwait(false);
        }
        // The client's bytes, not our fault: a 400 that says where the CSV is malformed.
        catch (Data.Tabular.CsvFormatException e) { throw new MonitoringException("monitoring.feedback", $"The feedback CSV is malformed: {e.Message}", 400, e); }
    }

    /// <summary>
    /// Ingests a CSV dropped at <c>feedback/{model}/{name}.csv</c> (the blob trigger's call, once per blob version).
    /// Returns null for blobs that are not a drop (another extension or a nested path).
    /// </summary>
    /// <param name="blobs">Blob storage holding <see cref="DropContainer"/>.</param>
    /// <param name="blobName">Name inside the container.</param>
    /// <param name="cancellationToken">Cancels the ingestion.</param>
    public async Task<FeedbackReceipt?> IngestDroppedCsvAsync(Core.Storage.IBlobStore blobs, string blobName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var parts = blobName.Split('/');
        if (parts.Length != 2 || !parts[1].EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) return null;
        using var stream = await blobs.OpenReadAsync(DropContainer, blobName, cancellationToken).ConfigureAwait(false);
        if (stream is null) return null;
        return await PostFeedbackAsync(parts[0], "text/csv", stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts a monitor run now.</summary>
    /// <exception cref="MonitoringException">404 when the model serves nothing (there is no baseline to compare with).</exception>
    public async Task<MonitorStarted> StartMonitorAsync(string model, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        if (await source.GetServingVersionAsync(model, cancellationToken).ConfigureAwait(false) is null)
            throw new MonitoringException("monitoring.nothing_served", $"Model '{model}' has no production version to monitor; promote a version first.", 404);
        await source.GetOptionsAsync(model, cancellationToken).ConfigureAwait(false); // a bad section is a 400 now, not a failed run later
        return new MonitorStarted(model, await launcher.StartMonitorAsync(model, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The latest <paramref name="take"/> runs (1–100).</summary>
    public async Task<MonitoringListing> ListAsync(string model, int take = 20, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        if (take is < 1 or > 100) throw new MonitoringException("monitoring.bad_request", $"take must be between 1 and 100 (was {take}).");
        return new MonitoringListing(model, await store.ListRunsAsync(model, take, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A run's report.</summary>
    /// <exception cref="MonitoringException">404 when the run has no report.</exception>
    public async Task<MonitorReport> GetReportAsync(string model, string runId, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        return await store.ReadReportAsync(model, runId, cancellationToken).ConfigureAwait(false)
            ?? throw new MonitoringException("monitoring.run_not_found", $"Model '{model}' has no monitor run '{runId}'.", 404);
    }

    /// <summary>A run's HTML report (rendered from the stored JSON, so it always matches it).</summary>
    public async Task<string> GetReportHtmlAsync(string model, string runId, CancellationToken cancellationToken = default) =>
        HtmlReport.Render(await GetReportAsync(model, runId, cancellationToken).ConfigureAwait(false));
}
