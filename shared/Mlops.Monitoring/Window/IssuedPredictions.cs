using System.Buffers;
using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Storage;

namespace Mlops.Monitoring.Window;

/// <summary>
/// Answers "did the service issue this prediction id for this model?" from the prediction log itself, so feedback can
/// only label predictions that were really served (and logged) for that model: the log is partitioned by model, and
/// a line carries the ids of its rows. Server ids encode their time, so only the hour blobs they name are read; client
/// ids carry no time, so they cost one listing of the model's log and a read of its blobs inside the lookback (newest
/// first, stopping as soon as every id is found) — clients that label much traffic should use the server's ids. The log
/// is appended about a second after the answer, so a recent server id that is not yet visible is looked up once more
/// after <paramref name="logDelay"/>.
/// </summary>
/// <param name="blobs">Blob storage holding the prediction log.</param>
/// <param name="container">The prediction log's container.</param>
/// <param name="logDelay">How long after an answer its log line may still be missing (the serving flush interval plus
/// margin).</param>
public sealed class IssuedPredictions(IBlobStore blobs, string container = "predictions", TimeSpan? logDelay = null)
{
    private static readonly byte[] IdsName = "ids"u8.ToArray();
    private static readonly byte[] InputsName = "inputs"u8.ToArray();
    private readonly TimeSpan _logDelay = logDelay ?? TimeSpan.FromSeconds(5);

    /// <summary>The subset of <paramref name="ids"/> that appear in <paramref name="model"/>'s prediction
    /// log.</summary>
    /// <param name="model">Model name (the log's partition).</param>
    /// <param name="ids">Ids to look up.</param>
    /// <param name="now">The current time (server ids newer than this are never looked up).</param>
    /// <param name="lookback">How far back client ids are searched.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    public async Task<HashSet<string>> FindAsync(
        string model,
        IReadOnlyCollection<string> ids,
        DateTimeOffset now,
        TimeSpan lookback,
        CancellationToken cancellationToken = default
    )
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var byHour = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var clientIds = new HashSet<string>(StringComparer.Ordinal);
        DateTimeOffset newest = DateTimeOffset.MinValue;
        foreach (var id in ids)
        {
            if (PredictionIds.TryGetTime(id, out var at))
            {
                string hour = HourPrefix(model, at);
                if (!byHour.TryGetValue(hour, out var set))
                    byHour[hour] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(id);
                if (at > newest)
                    newest = at;
            }
            else
            {
                clientIds.Add(id);
            }
        }
        foreach (var (hour, wanted) in byHour)
            await ScanHourAsync(hour, wanted, found, cancellationToken).ConfigureAwait(false);

        // Answers of the last few seconds may not be in the log yet: wait for the flush once, then read those hours
        // again.
        var pendingRecent = byHour
            .Where(h =>
                h.Value.Any(id =>
                    !found.Contains(id) && PredictionIds.TryGetTime(id, out var at) && at > now - _logDelay
                )
            )
            .ToList();
        if (pendingRecent.Count > 0)
        {
            var wait = newest + _logDelay - now;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait < _logDelay ? wait : _logDelay, cancellationToken).ConfigureAwait(false);
            foreach (var (hour, wanted) in pendingRecent)
                await ScanHourAsync(hour, wanted, found, cancellationToken).ConfigureAwait(false);
        }

        if (clientIds.Count > 0)
            await ScanForClientIdsAsync(model, clientIds, found, now, lookback, cancellationToken)
                .ConfigureAwait(false);
        return found;
    }

    private static string HourPrefix(string model, DateTimeOffset at) => $"{model}/{at.UtcDateTime:yyyy/MM/dd/HH}/";

    /// <summary>
    /// Client ids carry no time: one listing of the model's log names every hour blob, and those inside the lookback
    /// are read newest first until every id is found (an empty log costs one list call, not one per hour).
    /// </summary>
    private async Task ScanForClientIdsAsync(
        string model,
        HashSet<string> clientIds,
        HashSet<string> found,
        DateTimeOffset now,
        TimeSpan lookback,
        CancellationToken ct
    )
    {
        string oldest = HourPrefix(model, now - lookback);
        var names = new List<string>();
        await foreach (var blob in blobs.ListAsync(container, model + "/", ct).ConfigureAwait(false))
            if (blob.Name.EndsWith(".jsonl", StringComparison.Ordinal) && string.CompareOrdinal(blob.Name, oldest) >= 0)
                names.Add(blob.Name);
        names.Sort(StringComparer.Ordinal);
        int missing = clientIds.Count;
        for (int i = names.Count - 1; i >= 0 && missing > 0; i--)
        {
            int before = found.Count;
            await ScanBlobAsync(names[i], clientIds, found, ct).ConfigureAwait(false);
            missing -= found.Count - before;
        }
    }

    private async Task ScanHourAsync(string prefix, HashSet<string> wanted, HashSet<string> found, CancellationToken ct)
    {
        await foreach (var blob in blobs.ListAsync(container, prefix, ct).ConfigureAwait(false))
        {
            if (blob.Name.EndsWith(".jsonl", StringComparison.Ordinal))
                await ScanBlobAsync(blob.Name, wanted, found, ct).ConfigureAwait(false);
        }
    }

    private async Task ScanBlobAsync(string name, HashSet<string> wanted, HashSet<string> found, CancellationToken ct)
    {
        using var stream = await blobs.OpenLogReadAsync(container, name, ct).ConfigureAwait(false);
        if (stream is null)
            return; // deleted between listing and reading
        await foreach (var chunk in PredictionLogReader.ReadLineChunksAsync(stream, ct).ConfigureAwait(false))
        {
            try
            {
                CollectIds(chunk.Buffer.AsSpan(0, chunk.Length), wanted, found);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }
        }
    }

    /// <summary>Adds every id of <paramref name="wanted"/> that a line of <paramref name="lines"/> carries
    /// (pure).</summary>
    internal static void CollectIds(ReadOnlySpan<byte> lines, HashSet<string> wanted, HashSet<string> found)
    {
        while (!lines.IsEmpty)
        {
            int nl = lines.IndexOf((byte)'\n');
            var line = nl < 0 ? lines : lines[..nl];
            lines = nl < 0 ? default : lines[(nl + 1)..];
            try
            {
                CollectLine(line, wanted, found);
            }
            catch (JsonException) { } // a torn or foreign line names no issued prediction
        }
    }

    private static void CollectLine(ReadOnlySpan<byte> line, HashSet<string> wanted, HashSet<string> found)
    {
        var reader = new Utf8JsonReader(line);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // The logger writes ids before the (large) inputs: stop there rather than parse the rows.
            if (reader.ValueTextEquals(InputsName))
                return;
            bool ids = reader.ValueTextEquals(IdsName);
            if (!reader.Read())
                return;
            if (!ids || reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                continue;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                string id = reader.GetString()!;
                if (wanted.Contains(id))
                    found.Add(id);
            }
            return;
        }
    }
}
