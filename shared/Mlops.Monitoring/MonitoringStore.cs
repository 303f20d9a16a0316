using System.Text;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Monitoring.Policy;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Reports;

namespace Mlops.Monitoring;

/// <summary>A row of the run listing (<c>GET /api/models/{model}/monitoring</c>, <c>mlops monitor MODEL</c>).</summary>
/// <param name="RunId">Run id.</param>
/// <param name="GeneratedAt">When it computed.</param>
/// <param name="WindowFrom">Window start.</param>
/// <param name="WindowTo">Window end.</param>
/// <param name="Rows">Predictions in the window.</param>
/// <param name="ReferenceVersion">Baseline version.</param>
/// <param name="Verdicts">Signal → status.</param>
/// <param name="Retrain">Whether a retraining started.</param>
/// <param name="Reason">The decision's reason.</param>
/// <param name="Report">Blob of the JSON report (<c>container/name</c>).</param>
/// <param name="Baseline">Baseline kind (<c>serving</c>, <c>dataset</c>, <c>previous-window</c>; null for runs recorded
/// before baselines were selectable).</param>
public sealed record MonitorRunSummary(
    string RunId,
    DateTimeOffset GeneratedAt,
    DateTimeOffset WindowFrom,
    DateTimeOffset WindowTo,
    long Rows,
    int ReferenceVersion,
    IReadOnlyDictionary<string, string> Verdicts,
    bool? Retrain,
    string? Reason,
    string Report,
    string? Baseline = null
);

/// <summary>
/// Where monitoring keeps its artifacts: reports <c>{container}/{model}/{runId}/report.json|html</c>, one summary row
/// per run in <see cref="RunsTable"/> and one row per retraining decision in <see cref="DecisionsTable"/> (both
/// partitioned by model, row keys time-ordered), and the reference profiles next to the model versions.
/// </summary>
public sealed class MonitoringStore(
    IBlobStore blobs,
    ITableStore tables,
    string container = MonitoringStore.DefaultContainer,
    string modelsContainer = "models"
)
{
    /// <summary>Default report container.</summary>
    public const string DefaultContainer = "monitoring";

    /// <summary>Run summaries.</summary>
    public const string RunsTable = "MonitorRuns";

    /// <summary>Retraining decisions.</summary>
    public const string DecisionsTable = "RetrainDecisions";

    /// <summary>Writes a version's reference profile (the register step's call); idempotent.</summary>
    public Task WriteReferenceAsync(
        string model,
        int version,
        ReferenceProfile profile,
        CancellationToken cancellationToken = default
    ) =>
        blobs.WriteAsync(
            modelsContainer,
            ReferenceProfile.BlobName(model, version),
            profile.ToJson(),
            cancellationToken: cancellationToken
        );

    /// <summary>Reads a version's reference profile.</summary>
    /// <exception cref="MonitoringException"><c>monitoring.no_reference</c> (404) when the version has none (trained
    /// before monitoring existed).</exception>
    public async Task<ReferenceProfile> ReadReferenceAsync(
        string model,
        int version,
        CancellationToken cancellationToken = default
    )
    {
        var content = await blobs
            .ReadAsync(modelsContainer, ReferenceProfile.BlobName(model, version), cancellationToken)
            .ConfigureAwait(false)
            ?? throw new MonitoringException(
                "monitoring.no_reference",
                $"{model} v{version} has no reference profile ({modelsContainer}/{ReferenceProfile.BlobName(model, version)}); retrain it to enable monitoring.",
                404
            );
        return ReferenceProfile.FromJson(content.Data);
    }

    /// <summary>Blob of a pinned dataset version's profile as seen by a model version (scores depend on the
    /// version).</summary>
    public static string DatasetBaselineBlobName(string model, int version, string hash) =>
        $"{model}/v{version}/baselines/dataset-{hash}.json";

    /// <summary>Stores the profile of a pinned dataset version (<see cref="DatasetBaselines"/>); idempotent.</summary>
    public Task WriteDatasetBaselineAsync(
        string model,
        int version,
        string hash,
        ReferenceProfile profile,
        CancellationToken cancellationToken = default
    ) =>
        blobs.WriteAsync(
            modelsContainer,
            DatasetBaselineBlobName(model, version, hash),
            profile.ToJson(),
            cancellationToken: cancellationToken
        );

    /// <summary>The stored profile of a pinned dataset version, or null when it was never computed.</summary>
    public async Task<ReferenceProfile?> TryReadDatasetBaselineAsync(
        string model,
        int version,
        string hash,
        CancellationToken cancellationToken = default
    )
    {
        var content = await blobs
            .ReadAsync(modelsContainer, DatasetBaselineBlobName(model, version, hash), cancellationToken)
            .ConfigureAwait(false);
        return content is null ? null : ReferenceProfile.FromJson(content.Data);
    }

    /// <summary>Writes report.json and report.html and appends the run's summary row; returns the JSON blob's
    /// name.</summary>
    public async Task<string> SaveReportAsync(MonitorReport report, CancellationToken cancellationToken = default)
    {
        string folder = $"{report.Model}/{report.RunId}";
        await blobs
            .WriteAsync(
                container,
                $"{folder}/report.json",
                Json.SerializeToUtf8(report, indented: true),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        await blobs
            .WriteAsync(
                container,
                $"{folder}/report.html",
                Encoding.UTF8.GetBytes(HtmlReport.Render(report)),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        var row = new TableRow(
            report.Model,
            report.RunId,
            new Dictionary<string, object?>
            {
                ["GeneratedAt"] = report.GeneratedAt,
                ["WindowFrom"] = report.Window.From,
                ["WindowTo"] = report.Window.To,
                ["Rows"] = report.Window.Rows,
                ["ReferenceVersion"] = report.ReferenceVersion,
                ["Verdicts"] = Json.Serialize(report.Verdicts.ToDictionary(v => v.Signal, v => v.Status)),
                ["Report"] = $"{container}/{folder}/report.json",
                ["Baseline"] = report.Baseline?.Kind,
            }
        );
        if (report.Decision is { } d)
        {
            row["Retrain"] = d.Retrain;
            row["Reason"] = d.Reason;
        }
        await tables.UpsertAsync(RunsTable, row, cancellationToken).ConfigureAwait(false);
        return $"{folder}/report.json";
    }

    /// <summary>Reads a stored report, or null.</summary>
    public async Task<MonitorReport?> ReadReportAsync(
        string model,
        string runId,
        CancellationToken cancellationToken = default
    )
    {
        var content = await blobs
            .ReadAsync(container, $"{model}/{runId}/report.json", cancellationToken)
            .ConfigureAwait(false);
        return content is null ? null : Json.Deserialize<MonitorReport>(content.Data);
    }

    /// <summary>The latest <paramref name="take"/> runs of a model, newest first.</summary>
    public async Task<IReadOnlyList<MonitorRunSummary>> ListRunsAsync(
        string model,
        int take = 20,
        CancellationToken cancellationToken = default
    )
    {
        var rows = await tables
            .QueryAsync(RunsTable, model, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return rows.OrderByDescending(r => r.RowKey, StringComparer.Ordinal)
            .Take(take)
            .Select(r => new MonitorRunSummary(
                r.RowKey,
                r.GetDate("GeneratedAt") ?? default,
                r.GetDate("WindowFrom") ?? default,
                r.GetDate("WindowTo") ?? default,
                r.GetLong("Rows") ?? 0,
                (int)(r.GetLong("ReferenceVersion") ?? 0),
                Json.Deserialize<Dictionary<string, string>>(r.GetString("Verdicts") ?? "{}") ?? [],
                r.GetBool("Retrain"),
                r.GetString("Reason"),
                r.GetString("Report") ?? "",
                r.GetString("Baseline")
            ))
            .ToList();
    }

    /// <summary>Records a decision (every run's, retrain or not); <paramref name="retrainRunId"/> is the started
    /// training run.</summary>
    public Task RecordDecisionAsync(
        string model,
        string runId,
        RetrainDecision decision,
        string? retrainRunId,
        CancellationToken cancellationToken = default
    ) =>
        tables.UpsertAsync(
            DecisionsTable,
            new TableRow(
                model,
                $"{decision.DecidedAt.UtcTicks:D19}-{runId}",
                new Dictionary<string, object?>
                {
                    ["RunId"] = runId,
                    ["Retrain"] = decision.Retrain,
                    ["Reason"] = decision.Reason,
                    ["SuppressedBy"] = decision.SuppressedBy,
                    ["DecidedAt"] = decision.DecidedAt,
                    ["RetrainRunId"] = retrainRunId,
                }
            ),
            cancellationToken
        );

    /// <summary>The policy's history: retrainings started in the last max(cooldown, 1 day) and the previous decision
    /// time.</summary>
    public async Task<RetrainHistory> GetHistoryAsync(
        string model,
        DateTimeOffset now,
        TimeSpan cooldown,
        CancellationToken cancellationToken = default
    )
    {
        var span = cooldown > TimeSpan.FromDays(1) ? cooldown : TimeSpan.FromDays(1);
        var rows = await tables
            .QueryAsync(DecisionsTable, model, $"{(now - span).UtcTicks:D19}", null, cancellationToken)
            .ConfigureAwait(false);
        var started = rows.Where(r => r.GetBool("Retrain") == true)
            .Select(r => r.GetDate("DecidedAt") ?? default)
            .ToList();
        var last = rows.Select(r => r.GetDate("DecidedAt")).Where(d => d < now).Max();
        return new RetrainHistory(started, last);
    }
}
