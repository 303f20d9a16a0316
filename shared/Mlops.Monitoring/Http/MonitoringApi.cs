using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Monitoring.Feedback;
using Mlops.Monitoring.Reports;
using Mlops.Monitoring.Window;
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
/// <para>
/// Feedback is ground truth a retraining may learn from, so it is checked before it is stored: the model must exist,
/// every id must be a prediction the service issued (and logged) for that model — others are counted <c>unknown</c> and
/// dropped —, every label must be one of the model's classes (or a finite number for regression), and one caller key
/// stores at most <see cref="Policy.MonitoringOptions.FeedbackLabelsPerKeyPerDay"/> labels a day. The caller's key
/// identity is a fingerprint the app computes from the key the request carried; it is recorded with every label.
/// </para>
/// </summary>
public sealed class MonitoringApi(
    FeedbackStore feedback,
    MonitoringStore store,
    IMonitorLauncher launcher,
    IMonitoringSource source,
    IssuedPredictions issued,
    IClock clock
)
{
    /// <summary>The key identity recorded for labels that arrive through the blob drop zone (storage access, not a
    /// function key).</summary>
    public const string DropKeyFingerprint = "drop";

    /// <summary>Container of the feedback drop zone: <c>feedback/{model}/{name}.csv</c>.</summary>
    public const string DropContainer = "feedback";

    /// <summary>Largest feedback body accepted (10,000 labels with long client ids fit easily).</summary>
    public const int MaxFeedbackBytes = 16 << 20;

    /// <summary>Ingests a feedback batch: JSON <c>{"labels":[…]}</c>, or CSV <c>predictionId,label</c> when the content
    /// type is <c>text/csv</c>.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="contentType">The request's content type.</param>
    /// <param name="body">The request body.</param>
    /// <param name="keyFingerprint">Who is calling: a fingerprint of the key the request carried (never the key
    /// itself). Counted against the per-key daily cap and recorded as the labels' provenance.</param>
    /// <param name="cancellationToken">Cancels the ingestion.</param>
    /// <exception cref="NotFoundException"><c>monitoring.model_not_found</c> when the model does not exist.</exception>
    /// <exception cref="MonitoringException">400 for a malformed batch or a label outside the model's classes, 413 too
    /// large, 429 over the key's daily cap.</exception>
    public async Task<FeedbackReceipt> PostFeedbackAsync(
        string model,
        string? contentType,
        Stream body,
        string? keyFingerprint,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        if (!await source.ModelExistsAsync(model, cancellationToken).ConfigureAwait(false))
            throw new NotFoundException(
                "monitoring.model_not_found",
                $"Model '{model}' does not exist; feedback labels predictions of a registered model."
            );
        var options = await source.GetOptionsAsync(model, cancellationToken).ConfigureAwait(false);
        var policy = new FeedbackPolicy
        {
            KeyFingerprint = string.IsNullOrEmpty(keyFingerprint) ? Core.KeyFingerprint.Anonymous : keyFingerprint,
            MaxLabelsPerKeyPerDay = options.FeedbackLabelsPerKeyPerDay,
            IssuedIds = (ids, ct) => issued.FindAsync(model, ids, clock.UtcNow, options.Lookback, ct),
            Labels = await LabelDomainAsync(model, cancellationToken).ConfigureAwait(false),
        };
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxFeedbackBytes)
                throw new MonitoringException(
                    "monitoring.feedback_too_large",
                    $"The feedback body exceeds {MaxFeedbackBytes >> 20} MiB; send at most {FeedbackStore.MaxBatch} labels per request.",
                    413
                );
            buffer.Write(chunk, 0, read);
        }
        bool csv = contentType is not null && contentType.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase);
        try
        {
            if (csv)
            {
                buffer.Position = 0;
                return await feedback
                    .IngestCsvAsync(model, buffer, options.Lookback, policy, cancellationToken)
                    .ConfigureAwait(false);
            }
            return await feedback
                .IngestJsonAsync(
                    model,
                    buffer.GetBuffer().AsMemory(0, (int)buffer.Length),
                    options.Lookback,
                    policy,
                    cancellationToken
                )
                .ConfigureAwait(false);
        }
        // The client's bytes, not our fault: a 400 that says where the CSV is malformed.
        catch (Data.Tabular.CsvFormatException e)
        {
            throw new MonitoringException("monitoring.feedback", $"The feedback CSV is malformed: {e.Message}", 400, e);
        }
    }

    /// <summary>The labels the serving version can take (its reference profile's task and classes), or null when
    /// unknown.</summary>
    private async Task<LabelDomain?> LabelDomainAsync(string model, CancellationToken ct)
    {
        if (await source.GetServingVersionAsync(model, ct).ConfigureAwait(false) is not int version)
            return NumbersOnly;
        try
        {
            var reference = await store.ReadReferenceAsync(model, version, ct).ConfigureAwait(false);
            return new LabelDomain(reference.Task, reference.Classes);
        }
        catch (MlopsException)
        {
            // A version registered without a reference profile: its classes are unknown, numbers must still be finite.
            return NumbersOnly;
        }
    }

    // Without known classes only the number rule applies: text passes, 1e400 does not.
    private static readonly LabelDomain NumbersOnly = new("unknown", []);

    /// <summary>
    /// Ingests a CSV dropped at <c>feedback/{model}/{name}.csv</c> (the blob trigger's call, once per blob version).
    /// Returns null for blobs that are not a drop (another extension or a nested path).
    /// </summary>
    /// <param name="blobs">Blob storage holding <see cref="DropContainer"/>.</param>
    /// <param name="blobName">Name inside the container.</param>
    /// <param name="cancellationToken">Cancels the ingestion.</param>
    public async Task<FeedbackReceipt?> IngestDroppedCsvAsync(
        Core.Storage.IBlobStore blobs,
        string blobName,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var parts = blobName.Split('/');
        if (parts.Length != 2 || !parts[1].EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            return null;
        using var stream = await blobs.OpenReadAsync(DropContainer, blobName, cancellationToken).ConfigureAwait(false);
        if (stream is null)
            return null;
        return await PostFeedbackAsync(parts[0], "text/csv", stream, DropKeyFingerprint, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Starts a monitor run now.</summary>
    /// <exception cref="MonitoringException">404 when the model serves nothing (there is no baseline to compare
    /// with).</exception>
    public async Task<MonitorStarted> StartMonitorAsync(string model, CancellationToken cancellationToken = default)
    {
        RegistryNames.CheckModel(model);
        if (await source.GetServingVersionAsync(model, cancellationToken).ConfigureAwait(false) is null)
            throw new MonitoringException(
                "monitoring.nothing_served",
                $"Model '{model}' has no production version to monitor; promote a version first.",
                404
            );
        await source.GetOptionsAsync(model, cancellationToken).ConfigureAwait(false); // a bad section is a 400 now, not a failed run later
        return new MonitorStarted(
            model,
            await launcher.StartMonitorAsync(model, cancellationToken).ConfigureAwait(false)
        );
    }

    /// <summary>The latest <paramref name="take"/> runs (1–100).</summary>
    public async Task<MonitoringListing> ListAsync(
        string model,
        int take = 20,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        if (take is < 1 or > 100)
            throw new MonitoringException("monitoring.bad_request", $"take must be between 1 and 100 (was {take}).");
        return new MonitoringListing(
            model,
            await store.ListRunsAsync(model, take, cancellationToken).ConfigureAwait(false)
        );
    }

    /// <summary>A run's report.</summary>
    /// <exception cref="MonitoringException">404 when the run has no report.</exception>
    public async Task<MonitorReport> GetReportAsync(
        string model,
        string runId,
        CancellationToken cancellationToken = default
    )
    {
        RegistryNames.CheckModel(model);
        CheckRunId(runId);
        return await store.ReadReportAsync(model, runId, cancellationToken).ConfigureAwait(false)
            ?? throw new MonitoringException(
                "monitoring.run_not_found",
                $"Model '{model}' has no monitor run '{runId}'.",
                404
            );
    }

    /// <summary>
    /// Monitor run ids are orchestration instance ids, checked like tracked run ids (letters, digits, <c>. _ : -</c>,
    /// at most 251 characters, no <c>..</c>), so a caller's text never becomes part of a blob path unchecked.
    /// </summary>
    /// <exception cref="MonitoringException"><c>monitoring.bad_run_id</c> (400).</exception>
    public static string CheckRunId(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        bool ok =
            runId.Length is > 0 and <= 251
            && char.IsAsciiLetterOrDigit(runId[0])
            && !runId.Contains("..", StringComparison.Ordinal)
            && runId.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');
        return ok
            ? runId
            : throw new MonitoringException(
                "monitoring.bad_run_id",
                $"'{(runId.Length > 60 ? runId[..60] + "…" : runId)}' is not a valid monitor run id: use letters, digits, '.', '_', ':' and '-' only."
            );
    }

    /// <summary>A run's HTML report (rendered from the stored JSON, so it always matches it).</summary>
    public async Task<string> GetReportHtmlAsync(
        string model,
        string runId,
        CancellationToken cancellationToken = default
    ) => HtmlReport.Render(await GetReportAsync(model, runId, cancellationToken).ConfigureAwait(false));
}
