using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Functions.Hosting;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Models;
using Mlops.Registry;
using Mlops.Serving;

namespace Mlops.Functions.Handlers;

/// <summary>
/// Explanations of a sample of recently served rows, for the dashboard's beeswarm and its "pick a logged prediction"
/// list: the newest rows of the prediction log (any version served them), each explained by the requested version.
/// Read-only; the global importance stored at registration has its own route (<see
/// cref="ModelHandler.GetImportanceAsync"/>).
/// </summary>
public sealed class ExplanationHandler(ModelRegistry registry, IBlobStore blobs, ServingOptions serving, IClock clock)
{
    /// <summary>Rows explained when <c>?sample=</c> is absent.</summary>
    public const int DefaultSample = 200;

    /// <summary>Most rows one request explains (a beeswarm of more says nothing new and costs the page).</summary>
    public const int MaxSample = 1000;

    /// <summary>Hours of the prediction log looked at when <c>?hours=</c> is absent.</summary>
    public const int DefaultHours = 24;

    /// <summary>Longest look-back accepted (a week of hourly log folders).</summary>
    public const int MaxHours = 168;

    // A dashboard call must stay cheap on a busy model: at most this much of the log is read per request; the newest
    // hours are read first, so what is skipped is older traffic.
    private const long MaxBytesRead = 32L << 20;

    /// <summary>
    /// Explains up to <paramref name="sample"/> of the newest rows logged in the last <paramref name="hours"/> hours
    /// with
    /// <paramref name="model"/> v<paramref name="version"/>: per row its prediction id, time, serving version, input
    /// values and contributions (output-major, aligned with <c>columns</c>), plus the task and the base value per
    /// output. Rows the version cannot read (another version's columns) are counted as skipped, not failed.
    /// </summary>
    public async Task<ApiResponse> GetSampleAsync(
        string model,
        int version,
        string? sample,
        string? hours,
        CancellationToken cancellationToken = default
    )
    {
        int take = Bounded("sample", RequestQuery.OptionalPositiveInt("sample", sample) ?? DefaultSample, MaxSample);
        int lookback = Bounded("hours", RequestQuery.OptionalPositiveInt("hours", hours) ?? DefaultHours, MaxHours);
        var explainer = ExplainerFor(
            model,
            version,
            await registry.ReadModelFileAsync(model, version, cancellationToken)
        );

        var to = clock.UtcNow;
        var from = to.AddHours(-lookback);
        var log = await ReadNewestAsync(model, from, to, take, cancellationToken);
        var rows = new List<ExplainedRow>(log.Rows.Count);
        int skipped = 0;
        foreach (var logged in log.Rows)
        {
            if (explainer.TryExplain(logged.Values, out var e, out _) && e is not null)
                rows.Add(
                    new ExplainedRow(
                        logged.Id,
                        logged.At,
                        logged.ServedBy,
                        logged.Values,
                        Enumerable.Range(0, e.Outputs.Count).Select(o => e.For(o).ToArray()).ToArray()
                    )
                );
            else
                skipped++;
        }
        return ApiResponse.Json(
            new
            {
                model,
                version,
                task = explainer.Model.Task.ToName(),
                method = explainer.Method,
                columns = explainer.Columns,
                outputs = explainer.Outputs,
                @base = explainer.Base,
                source = "predictionLog",
                from,
                to,
                linesRead = log.Lines,
                rowsSkipped = skipped,
                truncated = log.Truncated,
                rows,
            }
        );
    }

    private static ModelExplainer ExplainerFor(string model, int version, byte[] file)
    {
        Model loaded;
        try
        {
            loaded = Model.Load(new MemoryStream(file));
        }
        catch (MlException e)
        {
            throw new MlopsException("explain.unreadable_model", $"{model} v{version}: {e.Message}", 422, e);
        }
        if (!ModelExplainer.CanExplain(loaded))
            throw new MlopsException(
                "explain.unavailable",
                $"{model} v{version} cannot explain its predictions (a tree model saved before explanations existed, or a model kind "
                    + "without them).",
                422
            );
        return ModelExplainer.For(loaded);
    }

    private static int Bounded(string name, int value, int max) =>
        value <= max
            ? value
            : throw new MlopsException(RequestQuery.InvalidCode, $"?{name}= may be at most {max}, got {value}.");

    /// <summary>One input row of the prediction log.</summary>
    private sealed record LoggedRow(string? Id, DateTimeOffset At, int ServedBy, JsonElement Values);

    private sealed record LogSample(IReadOnlyList<LoggedRow> Rows, long Lines, bool Truncated);

    /// <summary>One explained row as the route answers it.</summary>
    private sealed record ExplainedRow(
        string? Id,
        DateTimeOffset At,
        int ServedBy,
        JsonElement Values,
        double[][] Contributions
    );

    /// <summary>
    /// The newest <paramref name="take"/> non-shadow rows logged in [from, to): hours newest first, stopping once an
    /// hour has brought enough rows (or the byte budget is spent), then newest rows first.
    /// </summary>
    private async Task<LogSample> ReadNewestAsync(
        string model,
        DateTimeOffset from,
        DateTimeOffset to,
        int take,
        CancellationToken cancellationToken
    )
    {
        var rows = new List<LoggedRow>();
        long lines = 0,
            budget = MaxBytesRead;
        bool truncated = false;
        foreach (var prefix in Mlops.Monitoring.Window.PredictionLogReader.HourPrefixes(model, from, to).Reverse())
        {
            await foreach (var blob in blobs.ListAsync(serving.PredictionLogContainer, prefix, cancellationToken))
            {
                if (!blob.Name.EndsWith(".jsonl", StringComparison.Ordinal))
                    continue;
                if (budget <= 0)
                {
                    truncated = true;
                    break;
                }
                await using var stream = await blobs.OpenLogReadAsync(
                    serving.PredictionLogContainer,
                    blob.Name,
                    cancellationToken
                );
                if (stream is null)
                    continue; // removed since the listing
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    budget -= line.Length + 1;
                    lines++;
                    AddRows(line, from, to, rows);
                    if (budget <= 0)
                    {
                        truncated = true;
                        break;
                    }
                }
            }
            if (rows.Count >= take || truncated)
                break;
        }
        return new LogSample(rows.OrderByDescending(r => r.At).Take(take).ToList(), lines, truncated);
    }

    // A log line: {"at", "version", "shadow", "ids"?, "inputs": [rows], "outputs"|"error"}. Lines that do not parse
    // (a torn append) and shadow or failed requests are left out: only what a caller was answered is sampled.
    private static void AddRows(string line, DateTimeOffset from, DateTimeOffset to, List<LoggedRow> rows)
    {
        if (string.IsNullOrWhiteSpace(line))
            return;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (
                root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("at", out var atElement)
                || !atElement.TryGetDateTimeOffset(out var at)
                || at < from
                || at >= to
            )
                return;
            if (root.TryGetProperty("shadow", out var shadow) && shadow.ValueKind == JsonValueKind.True)
                return;
            if (
                root.TryGetProperty("error", out _)
                || !root.TryGetProperty("inputs", out var inputs)
                || inputs.ValueKind != JsonValueKind.Array
            )
                return;
            int servedBy = root.TryGetProperty("version", out var v) && v.TryGetInt32(out int n) ? n : 0;
            var ids =
                root.TryGetProperty("ids", out var idArray) && idArray.ValueKind == JsonValueKind.Array
                    ? idArray
                        .EnumerateArray()
                        .Select(i => i.ValueKind == JsonValueKind.String ? i.GetString() : null)
                        .ToArray()
                    : Array.Empty<string?>();
            int index = 0;
            foreach (var row in inputs.EnumerateArray())
            {
                if (row.ValueKind == JsonValueKind.Object)
                    rows.Add(new LoggedRow(index < ids.Length ? ids[index] : null, at, servedBy, row.Clone()));
                index++;
            }
        }
        catch (JsonException)
        {
            // A partial line at the end of a blob being appended to: the next read sees it whole.
        }
    }
}
