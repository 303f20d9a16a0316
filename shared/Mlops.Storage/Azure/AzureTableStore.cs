using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Mlops.Core.Storage;
using TableOperation = Mlops.Core.Storage.TableOperation;

namespace Mlops.Storage.Azure;

/// <summary>
/// <see cref="ITableStore"/> on Azure.Data.Tables. Tables are created lazily on the first 404, which saves a round
/// trip on every write to a table that exists.
/// </summary>
public sealed class AzureTableStore : ITableStore
{
    private readonly TableServiceClient _service;
    private readonly ConcurrentDictionary<string, TableClient> _tables = new(StringComparer.Ordinal);

    /// <summary>Creates the store over a service client (see <see cref="AzureStorageAccount"/>).</summary>
    public AzureTableStore(TableServiceClient service) => _service = service;

    private TableClient Table(string name) => _tables.GetOrAdd(name, _service.GetTableClient);

    /// <inheritdoc />
    public Task<TableRow?> GetAsync(
        string table,
        string partitionKey,
        string rowKey,
        CancellationToken cancellationToken = default
    ) =>
        AzureErrors.GuardAsync(
            $"get {table}/{partitionKey}/{rowKey}",
            async () =>
            {
                try
                {
                    var response = await Table(table)
                        .GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken)
                        .ConfigureAwait(false);
                    return response.HasValue ? TableEntityMapping.ToRow(response.Value!) : null;
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return null;
                } // the table does not exist yet
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<IReadOnlyList<TableRow>> QueryAsync(
        string table,
        string partitionKey,
        string? rowKeyFrom = null,
        string? rowKeyTo = null,
        CancellationToken cancellationToken = default
    )
    {
        // CreateQueryFilter quotes and escapes the values (a key may hold a quote).
        string filter = TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}");
        if (rowKeyFrom is not null)
            filter += " and " + TableClient.CreateQueryFilter($"RowKey ge {rowKeyFrom}");
        if (rowKeyTo is not null)
            filter += " and " + TableClient.CreateQueryFilter($"RowKey lt {rowKeyTo}");
        return RunQueryAsync(table, filter, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TableRow>> QueryAllAsync(string table, CancellationToken cancellationToken = default) =>
        RunQueryAsync(table, filter: null, cancellationToken);

    private Task<IReadOnlyList<TableRow>> RunQueryAsync(
        string table,
        string? filter,
        CancellationToken cancellationToken
    ) =>
        AzureErrors.GuardAsync(
            $"query {table}",
            async () =>
            {
                var rows = new List<TableRow>();
                try
                {
                    await foreach (
                        var entity in Table(table)
                            .QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken)
                            .ConfigureAwait(false)
                    )
                        rows.Add(TableEntityMapping.ToRow(entity));
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    return (IReadOnlyList<TableRow>)Array.Empty<TableRow>();
                }
                // Azure returns rows in key order; sort anyway so the in-memory double and every emulator agree.
                rows.Sort(
                    static (a, b) =>
                    {
                        int byPartition = string.CompareOrdinal(a.PartitionKey, b.PartitionKey);
                        return byPartition != 0 ? byPartition : string.CompareOrdinal(a.RowKey, b.RowKey);
                    }
                );
                return rows;
            },
            cancellationToken
        );

    /// <inheritdoc />
    public Task<string?> ExecuteAsync(
        string table,
        TableOperation operation,
        CancellationToken cancellationToken = default
    )
    {
        var row = operation.Row;
        string what = $"{operation.Kind} {table}/{row.PartitionKey}/{row.RowKey}";
        return AzureErrors.GuardAsync(
            what,
            async () =>
            {
                for (int attempt = 0; ; attempt++)
                {
                    try
                    {
                        return await ExecuteOnceAsync(Table(table), operation, what, cancellationToken)
                            .ConfigureAwait(false);
                    }
                    catch (RequestFailedException e) when (e.Status == 404)
                    {
                        // Replace/Merge of a missing row (or in a missing table) is a lost condition; Insert/Upsert
                        // into a missing table creates it once and tries again.
                        if (operation.Kind is TableOperationKind.Replace or TableOperationKind.Merge)
                            throw new StorageConflictException($"{what}: row does not exist.", e);
                        if (attempt > 0)
                            throw;
                        await CreateTableAsync(table, cancellationToken).ConfigureAwait(false);
                    }
                }
            },
            cancellationToken
        );
    }

    private static async Task<string?> ExecuteOnceAsync(
        TableClient client,
        TableOperation operation,
        string what,
        CancellationToken cancellationToken
    )
    {
        var row = operation.Row;
        ETag ifMatch = row.ETag is { } e ? new ETag(e) : ETag.All;
        Response response = operation.Kind switch
        {
            TableOperationKind.Insert => await client
                .AddEntityAsync(TableEntityMapping.ToEntity(row), cancellationToken)
                .ConfigureAwait(false),
            TableOperationKind.Upsert => await client
                .UpsertEntityAsync(TableEntityMapping.ToEntity(row), TableUpdateMode.Replace, cancellationToken)
                .ConfigureAwait(false),
            TableOperationKind.Replace => await client
                .UpdateEntityAsync(
                    TableEntityMapping.ToEntity(row),
                    ifMatch,
                    TableUpdateMode.Replace,
                    cancellationToken
                )
                .ConfigureAwait(false),
            TableOperationKind.Merge => await client
                .UpdateEntityAsync(TableEntityMapping.ToEntity(row), ifMatch, TableUpdateMode.Merge, cancellationToken)
                .ConfigureAwait(false),
            TableOperationKind.Delete => await client
                .DeleteEntityAsync(row.PartitionKey, row.RowKey, ifMatch, cancellationToken)
                .ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(operation), operation.Kind, "Unknown table operation."),
        };
        if (operation.Kind != TableOperationKind.Delete)
            return response.Headers.ETag?.ToString();
        // The SDK reports deleting a missing row as success with status 404: fine unconditionally, a lost condition
        // when the caller named the version it meant to delete.
        if (response.Status == 404 && row.ETag is not null)
            throw new StorageConflictException($"{what}: row does not exist.");
        return null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string?>> ExecuteBatchAsync(
        string table,
        TableBatch batch,
        CancellationToken cancellationToken = default
    )
    {
        if (batch.Count == 0)
            return Array.Empty<string?>();
        if (batch.Count > 100)
            throw new ArgumentException("A table batch holds at most 100 operations.", nameof(batch));
        var actions = batch.ConvertAll(TableEntityMapping.ToAction);
        string what = $"batch on {table}";
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var responses = (
                    await Table(table).SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false)
                ).Value;
                return responses
                    .Select((r, i) => batch[i].Kind == TableOperationKind.Delete ? null : r.Headers.ETag?.ToString())
                    .ToList();
            }
            // A 404 is a missing table (create it once and retry) or a Replace/Merge/Delete of a missing row, i.e. a
            // lost condition. Azurite answers 500 (not 412) to a batch whose ETag condition lost a race.
            catch (RequestFailedException e) when (e.Status is 404 or 409 or 412 or 500)
            {
                if (
                    e.Status == 404
                    && attempt == 0
                    && await CreateTableAsync(table, cancellationToken).ConfigureAwait(false)
                )
                    continue;
                if (e.Status == 500 && !batch.Any(IsConditional))
                    throw AzureErrors.Translate(e, what);
                throw new StorageConflictException($"{what}: a condition failed ({e.Status} {e.ErrorCode}).", e);
            }
            catch (Exception e) when (AzureErrors.IsStorageFailure(e, cancellationToken))
            {
                throw AzureErrors.Translate(e, what);
            }
        }
    }

    private static bool IsConditional(TableOperation op) =>
        op.Kind == TableOperationKind.Insert || op.Row.ETag is not null;

    /// <summary>Creates the table; true when it did not exist before.</summary>
    private async Task<bool> CreateTableAsync(string table, CancellationToken cancellationToken)
    {
        try
        {
            await Table(table).CreateAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }
}
