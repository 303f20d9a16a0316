using Mlops.Core.Storage;

namespace Mlops.Functions.Triggers;

/// <summary>What happened to one blob version (container/name + ETag) for one function.</summary>
public sealed record BlobReceipt(string BlobName, string ETag, string Status, int Attempts, string? InstanceId, string? Error, DateTimeOffset? UpdatedAt)
{
    public const string Pending = "pending", Complete = "complete", Poison = "poison", Ignored = "ignored";
    public bool IsFinal => Status is Complete or Poison or Ignored;
}

/// <summary>
/// Receipts make a blob trigger fire once per blob version across any number of host processes, as the Functions
/// host's blob receipts do: a row per (function, blob, ETag) claimed by an insert or an ETag-guarded replace, with a
/// short claim lease so a crashed claimer's blob is picked up again by another process.
/// </summary>
public sealed class BlobReceipts(ITableStore tables, string hostId, string functionName)
{
    public const string Table = "blobreceipts";
    private string Partition => $"{hostId}-{functionName}";

    public static string RowKey(string container, string blobName, string etag) =>
        Uri.EscapeDataString($"{container}/{blobName}") + "|" + Uri.EscapeDataString(etag.Trim('"'));

    public static string PrefixFor(string container, string blobPrefix) => Uri.EscapeDataString($"{container}/{blobPrefix}");

    /// <summary>A claimed receipt; pass it back to complete or fail the work.</summary>
    public sealed record Claim(TableRow Row, int Attempts);

    /// <summary>Claims a blob version for processing; null when it is done, poisoned, or being processed elsewhere.</summary>
    public async Task<Claim?> TryClaimAsync(string container, string blobName, string etag, string owner, TimeSpan claimFor, CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        string rk = RowKey(container, blobName, etag);
        var row = await tables.GetAsync(Table, Partition, rk, cancellationToken);
        if (row is null)
        {
            row = new TableRow(Partition, rk) { ["BlobName"] = blobName, ["ETag"] = etag, ["Status"] = BlobReceipt.Pending, ["Attempts"] = 0, ["ClaimedBy"] = owner, ["ClaimedUntil"] = now + claimFor };
            try { row.ETag = await tables.InsertAsync(Table, row, cancellationToken); return new Claim(row, 0); }
            catch (StorageConflictException) { return null; }
        }
        string status = row.GetString("Status") ?? BlobReceipt.Pending;
        if (status != BlobReceipt.Pending) return null;
        if (row.GetDate("ClaimedUntil") is { } until && until > now) return null;
        row["ClaimedBy"] = owner;
        row["ClaimedUntil"] = now + claimFor;
        try { row.ETag = await tables.ReplaceAsync(Table, row, cancellationToken); return new Claim(row, (int)(row.GetLong("Attempts") ?? 0)); }
        catch (StorageConflictException) { return null; }
    }

    public Task CompleteAsync(Claim claim, string status, string? instanceId, string? note, CancellationToken cancellationToken = default)
    {
        claim.Row["Status"] = status;
        claim.Row["InstanceId"] = instanceId;
        claim.Row["Error"] = note;
        claim.Row["CompletedAt"] = DateTimeOffset.UtcNow;
        return tables.ReplaceAsync(Table, claim.Row, cancellationToken);
    }

    /// <summary>Records a failure; returns true when the blob is now poison (attempts exhausted).</summary>
    public async Task<bool> FailAsync(Claim claim, string error, int maxAttempts, Func<int, TimeSpan>? backoff = null, CancellationToken cancellationToken = default)
    {
        int attempts = claim.Attempts + 1;
        bool poison = attempts >= maxAttempts;
        claim.Row["Attempts"] = attempts;
        claim.Row["Error"] = error;
        claim.Row["Status"] = poison ? BlobReceipt.Poison : BlobReceipt.Pending;
        // Back off before the next try: 2, 4, 8 ... seconds, capped at a minute (tests pass a shorter back-off).
        claim.Row["ClaimedUntil"] = DateTimeOffset.UtcNow + (backoff ?? DefaultBackoff)(attempts);
        await tables.ReplaceAsync(Table, claim.Row, cancellationToken);
        return poison;
    }

    /// <summary>The receipt of one blob version, or null when it was never claimed.</summary>
    public async Task<BlobReceipt?> GetAsync(string container, string blobName, string etag, CancellationToken cancellationToken = default) =>
        await tables.GetAsync(Table, Partition, RowKey(container, blobName, etag), cancellationToken) is { } row ? ToReceipt(row) : null;

    public static TimeSpan DefaultBackoff(int attempts) => TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, attempts)));

    public async Task<IReadOnlyList<BlobReceipt>> ListAsync(string container, string blobPrefix = "", CancellationToken cancellationToken = default)
    {
        string from = PrefixFor(container, blobPrefix);
        var rows = await tables.QueryAsync(Table, Partition, from, from + "\uffff", cancellationToken);
        return rows.Select(ToReceipt).ToList();
    }

    private static BlobReceipt ToReceipt(TableRow r) => new(
        r.GetString("BlobName") ?? "", r.GetString("ETag") ?? "", r.GetString("Status") ?? BlobReceipt.Pending,
        (int)(r.GetLong("Attempts") ?? 0), r.GetString("InstanceId"), r.GetString("Error"), r.GetDate("CompletedAt") ?? r.Timestamp);
}
