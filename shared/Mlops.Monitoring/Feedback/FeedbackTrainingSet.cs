using System.Text;
using System.Text.Json;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Feedback;

/// <summary>
/// Labeled production traffic as training rows (<c>trainOn: accepted+feedback</c>): every logged prediction with a
/// feedback label becomes one CSV row of the model's input columns (as the model saw them) plus the target column
/// holding the label, so a retraining learns from production.
/// </summary>
public static class FeedbackTrainingSet
{
    /// <summary>Blob (in the labels container) of the rows a retraining run can append.</summary>
    public static string BlobName(string model, string runId) => $"{model}/training/{runId}.csv";

    /// <summary>Blob (in the labels container) of the provenance of the rows in <paramref name="csvBlob"/>: a JSON
    /// array of
    /// <see cref="Registry.FeedbackSource"/> (who labelled how many rows, and when).</summary>
    public static string ProvenanceBlobName(string csvBlob) => Path.ChangeExtension(csvBlob, ".provenance.json");

    /// <summary>As <see cref="BuildAsync"/>, with the provenance of the rows: per caller key, how many and when they
    /// arrived.</summary>
    public static async Task<(
        byte[] Csv,
        int Rows,
        IReadOnlyList<Registry.FeedbackSource> Sources
    )> BuildWithProvenanceAsync(
        PredictionLogReader log,
        FeedbackStore feedback,
        string model,
        ReferenceProfile reference,
        DateTimeOffset from,
        DateTimeOffset to,
        DateTimeOffset labelsUntil,
        CancellationToken cancellationToken = default
    )
    {
        var records = await feedback
            .ReadLabelRecordsAsync(model, from, labelsUntil, cancellationToken)
            .ConfigureAwait(false);
        var labels = records.ToDictionary(kv => kv.Key, kv => kv.Value.Label, StringComparer.Ordinal);
        if (labels.Count == 0)
            return (ToCsv(reference, [], labels), 0, []);
        var window = await log.ReadAsync(
                model,
                reference,
                from,
                to,
                labeledIds: labels.Keys.ToHashSet(StringComparer.Ordinal),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        var rows = window
            .Labeled.Where(l => l.InputsJson is not null)
            .GroupBy(l => l.Id)
            .Select(g => g.Last())
            .ToList();
        var sources = rows.Select(r => records[r.Id])
            .GroupBy(r => r.Key ?? "unrecorded")
            .Select(g => new Registry.FeedbackSource(
                g.Key,
                g.Count(),
                g.Min(r => r.ReceivedAt),
                g.Max(r => r.ReceivedAt)
            ))
            .OrderByDescending(s => s.Rows)
            .ToList();
        return (ToCsv(reference, rows, labels), rows.Count, sources);
    }

    /// <summary>
    /// Reads the predictions of [<paramref name="from"/>, <paramref name="to"/>) that have labels (received up to
    /// <paramref name="labelsUntil"/>) and returns them as CSV (header: the reference's feature names, then its
    /// target). Cost: one pass over that part of the log.
    /// </summary>
    public static async Task<(byte[] Csv, int Rows)> BuildAsync(
        PredictionLogReader log,
        FeedbackStore feedback,
        string model,
        ReferenceProfile reference,
        DateTimeOffset from,
        DateTimeOffset to,
        DateTimeOffset labelsUntil,
        CancellationToken cancellationToken = default
    )
    {
        var labels = await feedback.ReadLabelsAsync(model, from, labelsUntil, cancellationToken).ConfigureAwait(false);
        if (labels.Count == 0)
            return (ToCsv(reference, [], labels), 0);
        var window = await log.ReadAsync(
                model,
                reference,
                from,
                to,
                labeledIds: labels.Keys.ToHashSet(StringComparer.Ordinal),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        var rows = window
            .Labeled.Where(l => l.InputsJson is not null)
            .GroupBy(l => l.Id)
            .Select(g => g.Last())
            .ToList();
        return (ToCsv(reference, rows, labels), rows.Count);
    }

    /// <summary>The CSV of <paramref name="rows"/> (pure).</summary>
    public static byte[] ToCsv(
        ReferenceProfile reference,
        IReadOnlyList<LabeledPrediction> rows,
        IReadOnlyDictionary<string, string> labels
    )
    {
        var names = reference.Features.Select(f => f.Name).ToList();
        var csv = new StringBuilder();
        csv.AppendJoin(',', names.Append(reference.Target).Select(Escape)).Append('\n');
        foreach (var row in rows)
        {
            using var doc = JsonDocument.Parse(row.InputsJson!);
            var values = names.Select(n => doc.RootElement.TryGetProperty(n, out var v) ? Text(v) : "");
            csv.AppendJoin(',', values.Append(Escape(labels[row.Id]))).Append('\n');
        }
        return Encoding.UTF8.GetBytes(csv.ToString());
    }

    private static string Text(JsonElement v) =>
        v.ValueKind switch
        {
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.String => Escape(v.GetString()!),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => "",
        };

    private static string Escape(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
