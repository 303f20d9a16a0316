using Mlops.Core.Storage;

namespace Mlops.Storage.InMemory;

/// <summary>In-process double of <see cref="ITableStore"/>: ETags, conditional writes and atomic batches like Azure
/// tables.</summary>
public sealed class InMemoryTableStore : ITableStore
{
    private readonly Dictionary<string, SortedDictionary<(string, string), TableRow>> _tables = new(
        StringComparer.Ordinal
    );
    private readonly object _gate = new();
    private long _etag;

    private SortedDictionary<(string, string), TableRow> Table(string name)
    {
        if (!_tables.TryGetValue(name, out var t))
            _tables[name] = t = new SortedDictionary<(string, string), TableRow>(
                Comparer<(string, string)>.Create(
                    (a, b) =>
                    {
                        int c = string.CompareOrdinal(a.Item1, b.Item1);
                        return c != 0 ? c : string.CompareOrdinal(a.Item2, b.Item2);
                    }
                )
            );
        return t;
    }

    private static TableRow Copy(TableRow r) =>
        new(r.PartitionKey, r.RowKey, r.Properties, r.ETag) { Timestamp = r.Timestamp };

    public Task<TableRow?> GetAsync(
        string table,
        string partitionKey,
        string rowKey,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
            return Task.FromResult(Table(table).TryGetValue((partitionKey, rowKey), out var r) ? Copy(r) : null);
    }

    public Task<IReadOnlyList<TableRow>> QueryAsync(
        string table,
        string partitionKey,
        string? rowKeyFrom = null,
        string? rowKeyTo = null,
        CancellationToken cancellationToken = default
    )
    {
        lock (_gate)
            return Task.FromResult<IReadOnlyList<TableRow>>(
                Table(table)
                    .Values.Where(r =>
                        r.PartitionKey == partitionKey
                        && (rowKeyFrom is null || string.CompareOrdinal(r.RowKey, rowKeyFrom) >= 0)
                        && (rowKeyTo is null || string.CompareOrdinal(r.RowKey, rowKeyTo) < 0)
                    )
                    .Select(Copy)
                    .ToList()
            );
    }

    public Task<IReadOnlyList<TableRow>> QueryAllAsync(string table, CancellationToken cancellationToken = default)
    {
        lock (_gate)
            return Task.FromResult<IReadOnlyList<TableRow>>(Table(table).Values.Select(Copy).ToList());
    }

    public async Task<string?> ExecuteAsync(
        string table,
        TableOperation operation,
        CancellationToken cancellationToken = default
    ) => (await ExecuteBatchAsync(table, new TableBatch { operation }, cancellationToken))[0];

    public Task<IReadOnlyList<string?>> ExecuteBatchAsync(
        string table,
        TableBatch batch,
        CancellationToken cancellationToken = default
    )
    {
        if (batch.Count > 100)
            throw new ArgumentException("A table batch holds at most 100 operations.", nameof(batch));
        lock (_gate)
        {
            var t = Table(table);
            // Validate every condition first so the batch is all-or-nothing.
            foreach (var op in batch)
            {
                bool exists = t.TryGetValue((op.Row.PartitionKey, op.Row.RowKey), out var cur);
                string where = $"{op.Kind} {table}/{op.Row.PartitionKey}/{op.Row.RowKey}";
                switch (op.Kind)
                {
                    case TableOperationKind.Insert when exists:
                        throw new StorageConflictException(where + ": row already exists.");
                    case TableOperationKind.Replace or TableOperationKind.Merge when !exists:
                        throw new StorageConflictException(where + ": row does not exist.");
                    case TableOperationKind.Delete when !exists && op.Row.ETag is not null:
                        throw new StorageConflictException(where + ": row does not exist.");
                }
                if (
                    exists
                    && op.Row.ETag is { } e
                    && e != "*"
                    && op.Kind is not (TableOperationKind.Upsert or TableOperationKind.Insert)
                    && cur!.ETag != e
                )
                    throw new StorageConflictException(where + ": ETag mismatch.");
            }
            var etags = new List<string?>();
            foreach (var op in batch)
            {
                var key = (op.Row.PartitionKey, op.Row.RowKey);
                if (op.Kind == TableOperationKind.Delete)
                {
                    t.Remove(key);
                    etags.Add(null);
                    continue;
                }
                var row =
                    op.Kind == TableOperationKind.Merge
                        ? Copy(t[key])
                        : new TableRow(op.Row.PartitionKey, op.Row.RowKey);
                foreach (var (k, v) in op.Row.Properties)
                    if (v is not null)
                        row.Properties[k] = v is DateTime dt ? new DateTimeOffset(dt.ToUniversalTime()) : v;
                row.ETag = $"W/\"{Interlocked.Increment(ref _etag)}\"";
                row.Timestamp = DateTimeOffset.UtcNow;
                t[key] = row;
                etags.Add(row.ETag);
            }
            return Task.FromResult<IReadOnlyList<string?>>(etags);
        }
    }
}
