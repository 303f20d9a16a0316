using System.Collections.Concurrent;
using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.Table;
using Mlops.Core.Storage;
using SdkOp = Microsoft.WindowsAzure.Storage.Table.TableOperation;

namespace Mlops.Storage.Azure;

/// <summary><see cref="ITableStore"/> on WindowsAzure.Storage 9.3.3. Tables are created lazily on the first 404.</summary>
public sealed class AzureTableStore : ITableStore
{
    private readonly CloudTableClient _client;
    private readonly ConcurrentDictionary<string, CloudTable> _tables = new();

    public AzureTableStore(CloudStorageAccount account)
    {
        _client = account.CreateCloudTableClient();
        _client.DefaultRequestOptions.RetryPolicy = AzureStorageAccount.RetryPolicy;
        _client.DefaultRequestOptions.MaximumExecutionTime = AzureStorageAccount.MaximumExecutionTime;
    }

    private CloudTable Table(string name) => _tables.GetOrAdd(name, n => _client.GetTableReference(n));

    public async Task<TableRow?> GetAsync(string table, string partitionKey, string rowKey, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await Table(table).ExecuteAsync(SdkOp.Retrieve<DynamicTableEntity>(partitionKey, rowKey), null, null, cancellationToken);
            return result.Result is DynamicTableEntity e ? ToRow(e) : null;
        }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return null; }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"get {table}/{partitionKey}/{rowKey}"); }
    }

    public Task<IReadOnlyList<TableRow>> QueryAsync(string table, string partitionKey, string? rowKeyFrom = null, string? rowKeyTo = null, CancellationToken cancellationToken = default)
    {
        string filter = TableQuery.GenerateFilterCondition("PartitionKey", QueryComparisons.Equal, partitionKey);
        if (rowKeyFrom is not null)
            filter = TableQuery.CombineFilters(filter, TableOperators.And, TableQuery.GenerateFilterCondition("RowKey", QueryComparisons.GreaterThanOrEqual, rowKeyFrom));
        if (rowKeyTo is not null)
            filter = TableQuery.CombineFilters(filter, TableOperators.And, TableQuery.GenerateFilterCondition("RowKey", QueryComparisons.LessThan, rowKeyTo));
        return RunQueryAsync(table, new TableQuery<DynamicTableEntity>().Where(filter), cancellationToken);
    }

    public Task<IReadOnlyList<TableRow>> QueryAllAsync(string table, CancellationToken cancellationToken = default) =>
        RunQueryAsync(table, new TableQuery<DynamicTableEntity>(), cancellationToken);

    private async Task<IReadOnlyList<TableRow>> RunQueryAsync(string table, TableQuery<DynamicTableEntity> query, CancellationToken cancellationToken)
    {
        var rows = new List<TableRow>();
        TableContinuationToken? token = null;
        try
        {
            do
            {
                var segment = await Table(table).ExecuteQuerySegmentedAsync(query, token, null, null, cancellationToken);
                rows.AddRange(segment.Results.Select(ToRow));
                token = segment.ContinuationToken;
            } while (token is not null);
        }
        catch (StorageException e) when (AzureErrors.IsNotFound(e)) { return Array.Empty<TableRow>(); }
        catch (StorageException e) { throw AzureErrors.Translate(e, $"query {table}"); }
        // Azure returns rows in key order; sort anyway so the in-memory double and Azurite agree.
        rows.Sort((a, b) => string.CompareOrdinal(a.PartitionKey + "\u0000" + a.RowKey, b.PartitionKey + "\u0000" + b.RowKey));
        return rows;
    }

    public async Task<string?> ExecuteAsync(string table, Core.Storage.TableOperation operation, CancellationToken cancellationToken = default)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var result = await Table(table).ExecuteAsync(ToSdk(operation), null, null, cancellationToken);
                return operation.Kind == TableOperationKind.Delete ? null : result.Etag;
            }
            catch (StorageException e) when (AzureErrors.IsNotFound(e) && AzureErrors.Code(e) == "TableNotFound" && attempt == 0) { await CreateAsync(table); }
            catch (StorageException e) when (AzureErrors.IsNotFound(e) && operation.Kind == TableOperationKind.Delete && operation.Row.ETag is null) { return null; }
            catch (StorageException e) when (AzureErrors.IsNotFound(e) && operation.Kind is TableOperationKind.Replace or TableOperationKind.Merge or TableOperationKind.Delete)
            {
                throw new StorageConflictException($"{operation.Kind} {table}/{operation.Row.PartitionKey}/{operation.Row.RowKey}: row does not exist.", e);
            }
            catch (StorageException e) { throw AzureErrors.Translate(e, $"{operation.Kind} {table}/{operation.Row.PartitionKey}/{operation.Row.RowKey}"); }
        }
    }

    public async Task<IReadOnlyList<string?>> ExecuteBatchAsync(string table, TableBatch batch, CancellationToken cancellationToken = default)
    {
        if (batch.Count == 0) return Array.Empty<string?>();
        if (batch.Count > 100) throw new ArgumentException("A table batch holds at most 100 operations.", nameof(batch));
        var sdk = new TableBatchOperation();
        foreach (var op in batch) sdk.Add(ToSdk(op));
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var results = await Table(table).ExecuteBatchAsync(sdk, null, null, cancellationToken);
                return results.Select((r, i) => batch[i].Kind == TableOperationKind.Delete ? null : r.Etag).ToList();
            }
            // A batch against a missing table answers 404 without the TableNotFound code: create it once and retry;
            // a 404 on an existing table means a Replace/Merge/Delete of a missing row, i.e. a lost condition.
            catch (StorageException e) when (AzureErrors.IsConflict(e, conditionalBatch: true) || AzureErrors.IsNotFound(e))
            {
                if (AzureErrors.IsNotFound(e) && attempt == 0 && await CreateAsync(table)) continue;
                throw new StorageConflictException($"batch on {table}: a condition failed ({AzureErrors.Status(e)} {AzureErrors.Code(e)}).", e);
            }
            catch (StorageException e) { throw AzureErrors.Translate(e, $"batch on {table}"); }
        }
    }

    /// <summary>Creates the table; true when it did not exist before.</summary>
    private async Task<bool> CreateAsync(string table)
    {
        try { return await Table(table).CreateIfNotExistsAsync(); }
        catch (StorageException e) when (AzureErrors.Status(e) == 409) { return false; }
    }

    private static SdkOp ToSdk(Core.Storage.TableOperation op)
    {
        var entity = new DynamicTableEntity(op.Row.PartitionKey, op.Row.RowKey) { ETag = op.Row.ETag ?? "*" };
        foreach (var (k, v) in op.Row.Properties)
            if (v is not null) entity.Properties[k] = EntityProperty.CreateEntityPropertyFromObject(v is DateTime dt ? new DateTimeOffset(dt.ToUniversalTime()) : v);
        return op.Kind switch
        {
            TableOperationKind.Insert => SdkOp.Insert(entity, echoContent: false),
            TableOperationKind.Replace => SdkOp.Replace(entity),
            TableOperationKind.Upsert => SdkOp.InsertOrReplace(entity),
            TableOperationKind.Merge => SdkOp.Merge(entity),
            TableOperationKind.Delete => SdkOp.Delete(entity),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    private static TableRow ToRow(DynamicTableEntity e)
    {
        var row = new TableRow(e.PartitionKey, e.RowKey, etag: e.ETag) { Timestamp = e.Timestamp };
        foreach (var (k, p) in e.Properties)
            row.Properties[k] = p.PropertyType == EdmType.DateTime ? p.DateTimeOffsetValue : p.PropertyAsObject;
        return row;
    }
}
