using System.Security.Cryptography;
using System.Text;
using Mlops.Core.Storage;

namespace Mlops.Functions.Triggers;

/// <summary>A drop the app would not ingest, and why.</summary>
/// <param name="Blob">The blob's name inside the drop container.</param>
/// <param name="Reason">What is wrong and how to fix it.</param>
/// <param name="At">When it was refused.</param>
public sealed record DropRefusal(string Blob, string Reason, DateTimeOffset At);

/// <summary>
/// Refused drops (a bad dataset name, a nested path, dot segments, a file that is not CSV), kept in table
/// <c>droprefusals</c> so a person sees them where they look for runs (<c>GET /api/pipelines/{dataset}/runs</c>)
/// rather than only in the log. A refusal is final — retrying cannot fix a name — so the trigger records it and returns
/// instead of throwing into the host's retries and the poison queue. One row per blob name: a refused blob that is
/// uploaded again overwrites its row.
/// </summary>
public sealed class DropRefusals(ITableStore tables)
{
    /// <summary>The table.</summary>
    public const string Table = "droprefusals";

    /// <summary>The partition of refusals whose first segment is not a usable dataset name.</summary>
    public const string NoDatasetPartition = "~no-dataset";

    /// <summary>Records a refusal under <paramref name="dataset"/> (null when the name has no usable
    /// dataset).</summary>
    public Task RecordAsync(
        string? dataset,
        string blob,
        string reason,
        DateTimeOffset at,
        CancellationToken cancellationToken = default
    ) =>
        tables.UpsertAsync(
            Table,
            new TableRow(dataset ?? NoDatasetPartition, RowKey(blob))
            {
                ["Blob"] = blob,
                ["Reason"] = reason,
                ["At"] = at,
            },
            cancellationToken
        );

    /// <summary>
    /// The newest refusals of every dataset, those under no usable dataset name included (the dataset is null for
    /// them): what the dashboard's Datasets page and <c>GET /api/drops/refused</c> show.
    /// </summary>
    public async Task<IReadOnlyList<(string? Dataset, DropRefusal Refusal)>> ListNewestAsync(
        int take,
        CancellationToken cancellationToken = default
    )
    {
        var rows = await tables.QueryAllAsync(Table, cancellationToken);
        return rows.Select(r => (r.PartitionKey == NoDatasetPartition ? null : r.PartitionKey, FromRow(r)))
            .OrderByDescending(x => x.Item2.At)
            .Take(take)
            .ToList();
    }

    /// <summary>The dataset's refusals (none when no drop was ever refused: the table answers empty).</summary>
    public async Task<IReadOnlyList<DropRefusal>> ListAsync(
        string dataset,
        CancellationToken cancellationToken = default
    )
    {
        var rows = await tables.QueryAsync(Table, dataset, cancellationToken: cancellationToken);
        return rows.Select(FromRow).ToList();
    }

    private static DropRefusal FromRow(TableRow r) =>
        new(r.GetString("Blob") ?? "", r.GetString("Reason") ?? "", r.GetDate("At") ?? DateTimeOffset.MinValue);

    // Blob names may hold characters table keys forbid ('/', '#', '?'): the key is a hash; the name is a property.
    private static string RowKey(string blob) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(blob)))[..32];
}
