using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Data.Tabular;
using Mlops.Registry;

namespace Mlops.Monitoring.Feedback;

/// <summary>
/// Ground-truth labels for served predictions. A batch is stored as one blob
/// <c>{container}/{model}/{yyyy}/{MM}/{dd}/{receivedTicks}-{hash}.jsonl</c> (partitioned by arrival day) plus one
/// summary row in <see cref="BatchTable"/>. Labels always arrive after their predictions, so the labels of a window
/// [from, to) are exactly those received in [from, min(now, to + lookback)): a monitor run lists only those days, never
/// the whole feedback history. Duplicates keep the latest (blob names sort by arrival).
/// </summary>
public sealed class FeedbackStore(
    IBlobStore blobs,
    ITableStore tables,
    IClock clock,
    string container = FeedbackStore.DefaultContainer
)
{
    /// <summary>Default blob container of stored labels.</summary>
    public const string DefaultContainer = "labels";

    /// <summary>Table with one row per stored batch (partition = model).</summary>
    public const string BatchTable = "FeedbackBatches";

    /// <summary>Most labels per batch.</summary>
    public const int MaxBatch = 10_000;

    /// <summary>Labels arriving this far after the clock's now are still accepted (clock skew between hosts).</summary>
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);
    private const int MaxProblems = 10;

    /// <summary>Ingests a JSON body <c>{"labels":[{"predictionId":"…","label":…}, …]}</c>.</summary>
    /// <exception cref="MonitoringException"><c>monitoring.feedback</c> (400) for a malformed body, 413 above <see
    /// cref="MaxBatch"/>.</exception>
    /// <param name="model">Model name.</param>
    /// <param name="body">The request body.</param>
    /// <param name="lookback">How old a labeled prediction may be.</param>
    /// <param name="policy">Checks before storing (issued ids, label domain, per-key cap); null stores what
    /// parses.</param>
    /// <param name="cancellationToken">Cancels the ingestion.</param>
    public Task<FeedbackReceipt> IngestJsonAsync(
        string model,
        ReadOnlyMemory<byte> body,
        TimeSpan lookback,
        FeedbackPolicy? policy = null,
        CancellationToken cancellationToken = default
    )
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new MonitoringException("monitoring.feedback", $"The feedback body is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (
                doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("labels", out var list)
                || list.ValueKind != JsonValueKind.Array
            )
                throw new MonitoringException(
                    "monitoring.feedback",
                    "The body must be {\"labels\": [{\"predictionId\": \"…\", \"label\": …}, …]}."
                );
            CheckSize(list.GetArrayLength());
            var entries = new List<(string? Id, string? Label)>(list.GetArrayLength());
            foreach (var e in list.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object)
                {
                    entries.Add((null, null));
                    continue;
                }
                string? id =
                    e.TryGetProperty("predictionId", out var i) && i.ValueKind == JsonValueKind.String
                        ? TextOrNull(i)
                        : null;
                string? label = e.TryGetProperty("label", out var l)
                    ? l.ValueKind switch
                    {
                        JsonValueKind.String => TextOrNull(l),
                        JsonValueKind.Number => l.GetRawText(),
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        _ => null,
                    }
                    : null;
                entries.Add((id, label));
            }
            return StoreAsync(model, entries, "json", lookback, policy, cancellationToken);
        }
    }

    /// <summary>Ingests a CSV with a header naming <c>predictionId</c> and <c>label</c> columns (others are
    /// ignored).</summary>
    /// <exception cref="MonitoringException"><c>monitoring.feedback</c> when the header lacks a column or the file is
    /// too large.</exception>
    /// <param name="model">Model name.</param>
    /// <param name="csv">The CSV.</param>
    /// <param name="lookback">How old a labeled prediction may be.</param>
    /// <param name="policy">Checks before storing (issued ids, label domain, per-key cap); null stores what
    /// parses.</param>
    /// <param name="cancellationToken">Cancels the ingestion.</param>
    public Task<FeedbackReceipt> IngestCsvAsync(
        string model,
        Stream csv,
        TimeSpan lookback,
        FeedbackPolicy? policy = null,
        CancellationToken cancellationToken = default
    )
    {
        using var reader = new CsvRecordReader(csv, leaveOpen: true);
        if (!reader.Read())
            throw new MonitoringException(
                "monitoring.feedback",
                "The feedback CSV is empty; it needs a header predictionId,label."
            );
        int idCol = -1,
            labelCol = -1;
        for (int f = 0; f < reader.FieldCount; f++)
        {
            var name = reader.GetField(f).Trim();
            if (name.Equals("predictionId", StringComparison.OrdinalIgnoreCase))
                idCol = f;
            else if (name.Equals("label", StringComparison.OrdinalIgnoreCase))
                labelCol = f;
        }
        if (idCol < 0 || labelCol < 0)
            throw new MonitoringException(
                "monitoring.feedback",
                "The feedback CSV header must name the columns predictionId and label."
            );
        var entries = new List<(string? Id, string? Label)>();
        while (reader.Read())
        {
            CheckSize(entries.Count + 1);
            string? id = idCol < reader.FieldCount ? reader.GetString(idCol) : null;
            string? label = labelCol < reader.FieldCount ? reader.GetString(labelCol) : null;
            entries.Add((string.IsNullOrEmpty(id) ? null : id, string.IsNullOrEmpty(label) ? null : label));
        }
        return StoreAsync(model, entries, "csv", lookback, policy, cancellationToken);
    }

    private static void CheckSize(int count)
    {
        if (count > MaxBatch)
            throw new MonitoringException(
                "monitoring.feedback_too_large",
                $"A feedback batch holds at most {MaxBatch} labels; split it.",
                413
            );
    }

    private async Task<FeedbackReceipt> StoreAsync(
        string model,
        List<(string? Id, string? Label)> entries,
        string source,
        TimeSpan lookback,
        FeedbackPolicy? policy,
        CancellationToken ct
    )
    {
        RegistryNames.CheckModel(model);
        if (entries.Count == 0)
            throw new MonitoringException("monitoring.feedback", "The feedback batch has no labels.");
        var now = clock.UtcNow;
        var problems = new List<string>();
        void Problem(string p)
        {
            if (problems.Count < MaxProblems)
                problems.Add(p);
        }
        int invalid = 0,
            unknown = 0,
            duplicates = 0;
        // Keep the last label of each id, in order of last appearance.
        var latest = new Dictionary<string, (int Index, string Label)>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
        {
            var (id, label) = entries[i];
            if (id is null || id.Length > PredictionIds.MaxClientLength || label is null)
            {
                invalid++;
                Problem(
                    id is null ? $"labels[{i}]: predictionId is missing or not a string"
                    : label is null ? $"labels[{i}]: label is missing or null"
                    : $"labels[{i}]: predictionId is longer than {PredictionIds.MaxClientLength} characters"
                );
                continue;
            }
            if (PredictionIds.TryGetTime(id, out var at) && (at < now - lookback || at > now + Skew))
            {
                unknown++;
                Problem(
                    $"labels[{i}]: prediction {id} was made at {at:O}, outside the {lookback.TotalDays:0.#}-day lookback"
                );
                continue;
            }
            if (latest.ContainsKey(id))
                duplicates++;
            latest[id] = (i, label);
        }
        if (policy is not null)
            unknown += await ApplyPolicyAsync(model, latest, policy, Problem, ct).ConfigureAwait(false);
        string? keyId = policy?.KeyFingerprint;
        var buffer = new ArrayBufferWriter<byte>(latest.Count * 64 + 16);
        using (var w = new Utf8JsonWriter(buffer))
        {
            foreach (var (id, (_, label)) in latest.OrderBy(kv => kv.Value.Index))
            {
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteString("label", label);
                if (keyId is not null)
                    w.WriteString("key", keyId);
                w.WriteEndObject();
                w.Flush();
                buffer.Write("\n"u8);
                w.Reset();
            }
        }
        string hash = Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan))[..16];
        if (latest.Count > 0)
        {
            string key = $"{now.UtcTicks:D19}-{hash}";
            string blob = $"{model}/{now.UtcDateTime:yyyy/MM/dd}/{key}.jsonl";
            await blobs.WriteAsync(container, blob, buffer.WrittenMemory, cancellationToken: ct).ConfigureAwait(false);
            await tables
                .UpsertAsync(
                    BatchTable,
                    new TableRow(
                        model,
                        key,
                        new Dictionary<string, object?>
                        {
                            ["Labels"] = (long)latest.Count,
                            ["Source"] = source,
                            ["ReceivedAt"] = now,
                            ["Blob"] = blob,
                            ["Key"] = keyId,
                        }
                    ),
                    ct
                )
                .ConfigureAwait(false);
        }
        return new FeedbackReceipt(model, hash, entries.Count, latest.Count, duplicates, unknown, invalid, problems);
    }

    /// <summary>
    /// Applies <paramref name="policy"/> to the deduplicated batch: refuses the whole batch (400 naming the rows) when
    /// a label is outside the model's domain, drops ids the service never issued for the model (returned as the count
    /// of unknown ids), and refuses (429) a batch that would take the caller's key over its daily cap.
    /// </summary>
    private async Task<int> ApplyPolicyAsync(
        string model,
        Dictionary<string, (int Index, string Label)> latest,
        FeedbackPolicy policy,
        Action<string> problem,
        CancellationToken ct
    )
    {
        if (policy.Labels is { } domain)
        {
            var refused = new List<string>();
            foreach (var (id, (index, label)) in latest.OrderBy(kv => kv.Value.Index).ToList())
            {
                if (domain.Normalize(label, out string? why) is { } canonical)
                    latest[id] = (index, canonical);
                else if (refused.Count < MaxProblems)
                    refused.Add($"labels[{index}]: {why}");
                else
                    break;
            }
            if (refused.Count > 0)
                throw new MonitoringException(
                    "monitoring.feedback_invalid_label",
                    $"The batch was not stored: {string.Join("; ", refused)}{(refused.Count >= MaxProblems ? "; …" : "")}."
                );
        }
        int unknown = 0;
        if (policy.IssuedIds is { } issued && latest.Count > 0)
        {
            var found = await issued(latest.Keys.ToList(), ct).ConfigureAwait(false);
            foreach (var (id, (index, _)) in latest.OrderBy(kv => kv.Value.Index).ToList())
            {
                if (found.Contains(id))
                    continue;
                latest.Remove(id);
                unknown++;
                problem(
                    $"labels[{index}]: prediction {id} was not issued for model {model} (or is not in its prediction log)"
                );
            }
        }
        if (policy.MaxLabelsPerKeyPerDay > 0 && latest.Count > 0)
        {
            var dayStart = new DateTimeOffset(clock.UtcNow.UtcDateTime.Date, TimeSpan.Zero);
            var rows = await tables
                .QueryAsync(BatchTable, model, $"{dayStart.UtcTicks:D19}", null, ct)
                .ConfigureAwait(false);
            long used = rows.Where(r => r.GetString("Key") == policy.KeyFingerprint).Sum(r => r.GetLong("Labels") ?? 0);
            if (used + latest.Count > policy.MaxLabelsPerKeyPerDay)
                throw new MonitoringException(
                    "monitoring.feedback_quota",
                    $"This key has stored {used} labels for model {model} today (UTC); {latest.Count} more would exceed its cap of "
                        + $"{policy.MaxLabelsPerKeyPerDay} (monitoring.feedbackPerKeyPerDay). Nothing was stored; retry tomorrow or raise the cap.",
                    429
                );
        }
        return unknown;
    }

    /// <summary>
    /// Labels received in [<paramref name="from"/>, <paramref name="until"/>), id → label, the latest winning.
    /// Lists only the arrival days in that range.
    /// </summary>
    public async Task<Dictionary<string, string>> ReadLabelsAsync(
        string model,
        DateTimeOffset from,
        DateTimeOffset until,
        CancellationToken cancellationToken = default
    )
    {
        var records = await ReadLabelRecordsAsync(model, from, until, cancellationToken).ConfigureAwait(false);
        return records.ToDictionary(kv => kv.Key, kv => kv.Value.Label, StringComparer.Ordinal);
    }

    /// <summary>
    /// Labels received in [<paramref name="from"/>, <paramref name="until"/>) with their provenance (key and arrival),
    /// id → the latest label. Lists only the arrival days in that range.
    /// </summary>
    public async Task<Dictionary<string, StoredLabel>> ReadLabelRecordsAsync(
        string model,
        DateTimeOffset from,
        DateTimeOffset until,
        CancellationToken cancellationToken = default
    )
    {
        var labels = new Dictionary<string, StoredLabel>(StringComparer.Ordinal);
        string fromKey = $"{from.UtcTicks:D19}",
            untilKey = $"{until.UtcTicks:D19}";
        for (var day = from.UtcDateTime.Date; day < until.UtcDateTime; day = day.AddDays(1))
        {
            var names = new List<string>();
            await foreach (
                var b in blobs
                    .ListAsync(container, $"{model}/{day:yyyy/MM/dd}/", cancellationToken)
                    .ConfigureAwait(false)
            )
            {
                string key = b.Name[(b.Name.LastIndexOf('/') + 1)..];
                if (string.CompareOrdinal(key, fromKey) >= 0 && string.CompareOrdinal(key, untilKey) < 0)
                    names.Add(b.Name);
            }
            names.Sort(StringComparer.Ordinal); // arrival order: later batches overwrite earlier labels
            foreach (var name in names)
            {
                var content = await blobs.ReadAsync(container, name, cancellationToken).ConfigureAwait(false);
                if (content is null)
                    continue;
                string file = name[(name.LastIndexOf('/') + 1)..];
                var receivedAt =
                    long.TryParse(file.AsSpan(0, Math.Min(19, file.Length)), out long ticks)
                    && ticks is >= 0 and <= 3155378975999999999
                        ? new DateTimeOffset(ticks, TimeSpan.Zero)
                        : from;
                foreach (
                    var line in Encoding.UTF8.GetString(content.Data).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                )
                {
                    using var doc = JsonDocument.Parse(line);
                    var root = doc.RootElement;
                    string? key =
                        root.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String
                            ? k.GetString()
                            : null;
                    labels[root.GetProperty("id").GetString()!] = new StoredLabel(
                        root.GetProperty("label").GetString()!,
                        key,
                        receivedAt
                    );
                }
            }
        }
        return labels;
    }

    /// <summary>Labels received since <paramref name="since"/> (the <c>new_labels</c> signal), from the batch
    /// table.</summary>
    public async Task<long> CountLabelsSinceAsync(
        string model,
        DateTimeOffset since,
        CancellationToken cancellationToken = default
    )
    {
        var rows = await tables
            .QueryAsync(BatchTable, model, $"{since.UtcTicks:D19}", null, cancellationToken)
            .ConfigureAwait(false);
        return rows.Sum(r => r.GetLong("Labels") ?? 0);
    }

    /// <summary>A JSON string's text, or null when it is not valid UTF-16 (a lone surrogate escape): that entry is
    /// counted as invalid instead of failing the whole batch.</summary>
    private static string? TextOrNull(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
