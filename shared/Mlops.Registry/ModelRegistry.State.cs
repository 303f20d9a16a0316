using System.Text;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Registry.Gate;

namespace Mlops.Registry;

/// <summary>The one write path for state changes (state row + history row in one batch) and the table row
/// mapping.</summary>
public sealed partial class ModelRegistry
{
    // ------------------------------------------------------------------ the one write path for state changes

    private sealed class StateDoc
    {
        public Dictionary<string, int> Aliases { get; set; } = new(StringComparer.Ordinal);
        public TrafficConfig? Traffic { get; set; }
        public List<int> PreviousProduction { get; set; } = [];
    }

    private sealed record LoadedState(TableRow Row, StateDoc Doc, long Revision);

    private sealed record Pending(
        ChangeKind Kind,
        string? Alias,
        int? From,
        int? To,
        IReadOnlyList<TableOperation>? Extra = null
    );

    private async Task<HistoryEntry> ChangeAsync(
        string model,
        bool retry,
        Func<LoadedState, CancellationToken, Task<Pending?>> decide,
        ChangeContext? change,
        CancellationToken ct
    )
    {
        RegistryNames.CheckModel(model);
        for (int attempt = 0; ; attempt++)
        {
            var row = await _tables.GetAsync(_options.Table, model, StateRow, ct).ConfigureAwait(false)
                ?? throw RegistryException.UnknownModel(model);
            var doc = Json.Deserialize<StateDoc>(row.GetString("State") ?? "{}") ?? new StateDoc();
            doc.Aliases = new Dictionary<string, int>(doc.Aliases, StringComparer.Ordinal);
            long revision = row.GetLong("Revision") ?? 0;
            var pending = await decide(new LoadedState(row, doc, revision), ct).ConfigureAwait(false);
            if (pending is null)
            {
                // Nothing to change (idempotent repeat): describe the current state without writing.
                var current = ParseState(model, row);
                return new HistoryEntry
                {
                    Model = model,
                    Revision = revision,
                    At = current.UpdatedAt,
                    Aliases = current.Aliases,
                    Traffic = current.Traffic,
                    Reason = "unchanged",
                };
            }

            var now = _clock.UtcNow;
            var entry = new HistoryEntry
            {
                Model = model,
                Revision = revision + 1,
                At = now,
                Kind = pending.Kind,
                Alias = pending.Alias,
                FromVersion = pending.From,
                ToVersion = pending.To,
                Actor = change?.Actor,
                Reason = change?.Reason,
                Aliases = new SortedDictionary<string, int>(doc.Aliases, StringComparer.Ordinal),
                Traffic = doc.Traffic,
            };
            var newState = new TableRow(model, StateRow, etag: row.ETag)
            {
                ["State"] = Json.Serialize(doc),
                ["Revision"] = revision + 1,
                ["UpdatedAt"] = now,
            };
            var batch = new TableBatch()
                .Replace(newState)
                .Insert(
                    new TableRow(model, HistoryRowKey(revision + 1))
                    {
                        ["Entry"] = Json.Serialize(entry),
                        ["At"] = now,
                        ["Kind"] = entry.Kind.ToString(),
                    }
                );
            foreach (var op in pending.Extra ?? [])
                batch.Add(op);
            try
            {
                await _tables.ExecuteBatchAsync(_options.Table, batch, ct).ConfigureAwait(false);
            }
            catch (StorageConflictException ex)
            {
                if (!retry || attempt >= 20)
                    throw RegistryException.Conflict(model, ex);
                await Task.Delay(Random.Shared.Next(5, 30), ct).ConfigureAwait(false);
                continue;
            }
            if (_options.AppendHistoryBlob)
            {
                try
                {
                    await _blobs
                        .AppendAsync(
                            _options.Container,
                            $"{model}/history.jsonl",
                            Encoding.UTF8.GetBytes(Json.Serialize(entry) + "\n"),
                            ct
                        )
                        .ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The table row is the record; the blob copy is an audit convenience and must not fail the change.
                }
            }
            return entry;
        }
    }

    private static ServingState ParseState(string model, TableRow row)
    {
        var doc = Json.Deserialize<StateDoc>(row.GetString("State") ?? "{}") ?? new StateDoc();
        return new ServingState
        {
            Model = model,
            Revision = row.GetLong("Revision") ?? 0,
            ETag = row.ETag,
            Aliases = new Dictionary<string, int>(doc.Aliases, StringComparer.Ordinal),
            Traffic = doc.Traffic,
            PreviousProduction = doc.PreviousProduction,
            UpdatedAt = row.GetDate("UpdatedAt") ?? row.Timestamp ?? DateTimeOffset.MinValue,
        };
    }

    private static ModelVersion WithAliases(ModelVersion v, ServingState state) =>
        v with
        {
            Aliases = state
                .Aliases.Where(a => a.Value == v.Version)
                .Select(a => a.Key)
                .Order(StringComparer.Ordinal)
                .ToList(),
        };

    private static TableRow ToRow(ModelVersion v)
    {
        string metrics = TruncateJson(Json.Serialize(v.Metrics), Json.Serialize(v.Metrics with { Slices = null }));
        var row = new TableRow(v.Model, VersionRowKey(v.Version))
        {
            ["Version"] = v.Version,
            ["Status"] = v.Status.ToString(),
            ["CreatedAt"] = v.CreatedAt,
            ["Metrics"] = metrics,
            ["ModelPath"] = v.ModelPath,
            ["ModelBytes"] = v.ModelBytes,
            ["Approval"] = v.Approval.ToString(),
        };
        if (v.RunId is not null)
            row["RunId"] = Truncate(v.RunId, 1000);
        if (v.DataHash is not null)
            row["DataHash"] = v.DataHash;
        if (v.CodeVersion is not null)
            row["CodeVersion"] = Truncate(v.CodeVersion, 200);
        if (v.Description is not null)
            row["Description"] = Truncate(v.Description, 2000);
        if (v.Gate is not null)
            row["Gate"] = TruncateJson(
                Json.Serialize(v.Gate),
                Json.Serialize(v.Gate with { Slices = [], Reasons = v.Gate.Reasons.Take(5).ToList() })
            );
        return row;
    }

    private static ModelVersion FromRow(string model, TableRow r) =>
        new()
        {
            Model = model,
            Version = (int)(r.GetLong("Version") ?? int.Parse(r.RowKey.AsSpan(1))),
            Status = Enum.TryParse<VersionStatus>(r.GetString("Status"), out var s) ? s : VersionStatus.Active,
            CreatedAt = r.GetDate("CreatedAt") ?? r.Timestamp ?? default,
            RunId = r.GetString("RunId"),
            Metrics = r.GetString("Metrics") is { } m
                ? Json.Deserialize<ModelMetrics>(m) ?? ModelMetrics.Empty
                : ModelMetrics.Empty,
            DataHash = r.GetString("DataHash"),
            CodeVersion = r.GetString("CodeVersion"),
            ModelPath = r.GetString("ModelPath") ?? $"{model}/v{r.RowKey.TrimStart('v').TrimStart('0')}/model.json",
            ModelBytes = r.GetLong("ModelBytes") ?? 0,
            Gate = r.GetString("Gate") is { } g ? Json.Deserialize<GateDecision>(g) : null,
            Approval = Enum.TryParse<ApprovalState>(r.GetString("Approval"), out var a) ? a : ApprovalState.None,
            ApprovalNote = r.GetString("ApprovalNote"),
            Description = r.GetString("Description"),
        };

    // Table string properties hold at most 32K UTF-16 characters: fall back to a smaller form (the blob keeps all).
    private static string TruncateJson(string full, string smaller) =>
        full.Length <= 30_000 ? full
        : smaller.Length <= 30_000 ? smaller
        : "{}";

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
