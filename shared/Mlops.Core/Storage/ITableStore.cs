namespace Mlops.Core.Storage;

/// <summary>
/// A table entity: partition and row key, ETag and flat properties. Values are string, long, int, double, bool,
/// DateTimeOffset, byte[] or Guid. Indexes (registry versions, aliases, receipts, instances) live in tables.
/// </summary>
public sealed class TableRow
{
    public TableRow(
        string partitionKey,
        string rowKey,
        IDictionary<string, object?>? properties = null,
        string? etag = null
    )
    {
        PartitionKey = partitionKey;
        RowKey = rowKey;
        Properties = properties is null
            ? new Dictionary<string, object?>(StringComparer.Ordinal)
            : new Dictionary<string, object?>(properties, StringComparer.Ordinal);
        ETag = etag;
    }

    public string PartitionKey { get; }
    public string RowKey { get; }
    public string? ETag { get; set; }
    public DateTimeOffset? Timestamp { get; set; }
    public Dictionary<string, object?> Properties { get; }

    public object? this[string name]
    {
        get => Properties.TryGetValue(name, out var v) ? v : null;
        set => Properties[name] = value;
    }

    public string? GetString(string name) => this[name] as string;

    public long? GetLong(string name) =>
        this[name] switch
        {
            long l => l,
            int i => i,
            double d => (long)d,
            string s when long.TryParse(s, out var p) => p,
            _ => null,
        };

    public double? GetDouble(string name) =>
        this[name] switch
        {
            double d => d,
            long l => l,
            int i => i,
            _ => null,
        };

    public bool? GetBool(string name) => this[name] as bool?;

    public DateTimeOffset? GetDate(string name) =>
        this[name] switch
        {
            DateTimeOffset d => d,
            DateTime d => new DateTimeOffset(d, TimeSpan.Zero),
            _ => null,
        };
}

/// <summary>Kinds of write inside a <see cref="TableBatch"/>.</summary>
public enum TableOperationKind
{
    Insert,
    Replace,
    Upsert,
    Merge,
    Delete,
}

/// <summary>One write in a batch. Replace/Merge/Delete with a row ETag are conditional; without one they are
/// unconditional.</summary>
public sealed record TableOperation(TableOperationKind Kind, TableRow Row);

/// <summary>An atomic group of up to 100 writes to one partition.</summary>
public sealed class TableBatch : List<TableOperation>
{
    public TableBatch Insert(TableRow row)
    {
        Add(new(TableOperationKind.Insert, row));
        return this;
    }

    public TableBatch Replace(TableRow row)
    {
        Add(new(TableOperationKind.Replace, row));
        return this;
    }

    public TableBatch Upsert(TableRow row)
    {
        Add(new(TableOperationKind.Upsert, row));
        return this;
    }

    public TableBatch Merge(TableRow row)
    {
        Add(new(TableOperationKind.Merge, row));
        return this;
    }

    public TableBatch Delete(TableRow row)
    {
        Add(new(TableOperationKind.Delete, row));
        return this;
    }
}

/// <summary>
/// Port for table storage. Conditional writes throw <see cref="StorageConflictException"/> when the row changed or
/// already exists (Azurite answers 500 for a failed conditional batch; adapters map that to the same exception).
/// </summary>
public interface ITableStore
{
    Task<TableRow?> GetAsync(
        string table,
        string partitionKey,
        string rowKey,
        CancellationToken cancellationToken = default
    );

    /// <summary>Rows of one partition, optionally with row keys in [rowKeyFrom, rowKeyTo), in row-key order.</summary>
    Task<IReadOnlyList<TableRow>> QueryAsync(
        string table,
        string partitionKey,
        string? rowKeyFrom = null,
        string? rowKeyTo = null,
        CancellationToken cancellationToken = default
    );

    /// <summary>All rows of a table (small tables: listings, management queries).</summary>
    Task<IReadOnlyList<TableRow>> QueryAllAsync(string table, CancellationToken cancellationToken = default);

    /// <summary>Executes one write; returns the row's new ETag.</summary>
    Task<string?> ExecuteAsync(string table, TableOperation operation, CancellationToken cancellationToken = default);

    /// <summary>Executes an atomic batch (one partition, ≤100 operations); returns new ETags in order (null for
    /// deletes).</summary>
    Task<IReadOnlyList<string?>> ExecuteBatchAsync(
        string table,
        TableBatch batch,
        CancellationToken cancellationToken = default
    );
}

public static class TableStoreExtensions
{
    public static Task<string?> InsertAsync(
        this ITableStore t,
        string table,
        TableRow row,
        CancellationToken ct = default
    ) => t.ExecuteAsync(table, new(TableOperationKind.Insert, row), ct);

    public static Task<string?> UpsertAsync(
        this ITableStore t,
        string table,
        TableRow row,
        CancellationToken ct = default
    ) => t.ExecuteAsync(table, new(TableOperationKind.Upsert, row), ct);

    public static Task<string?> ReplaceAsync(
        this ITableStore t,
        string table,
        TableRow row,
        CancellationToken ct = default
    ) => t.ExecuteAsync(table, new(TableOperationKind.Replace, row), ct);

    public static Task<string?> DeleteAsync(
        this ITableStore t,
        string table,
        TableRow row,
        CancellationToken ct = default
    ) => t.ExecuteAsync(table, new(TableOperationKind.Delete, row), ct);
}
