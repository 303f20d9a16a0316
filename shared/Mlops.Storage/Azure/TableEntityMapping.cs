using Azure;
using Azure.Data.Tables;
using Mlops.Core.Storage;
using TableOperation = Mlops.Core.Storage.TableOperation;

namespace Mlops.Storage.Azure;

/// <summary>Converts between the port's <see cref="TableRow"/> and the SDK's <see cref="TableEntity"/>.</summary>
internal static class TableEntityMapping
{
    public static TableEntity ToEntity(TableRow row)
    {
        var entity = new TableEntity(row.PartitionKey, row.RowKey);
        foreach (var (name, value) in row.Properties)
        {
            // Tables store instants in UTC; a local DateTime would otherwise be shifted by the machine's offset.
            if (value is not null)
                entity[name] = value is DateTime dt ? new DateTimeOffset(dt.ToUniversalTime()) : value;
        }
        return entity;
    }

    public static TableRow ToRow(TableEntity entity)
    {
        var row = new TableRow(entity.PartitionKey, entity.RowKey, etag: entity.ETag.ToString())
        {
            Timestamp = entity.Timestamp,
        };
        foreach (var (name, value) in entity)
        {
            if (IsSystemProperty(name))
                continue;
            row.Properties[name] = value switch
            {
                DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
                BinaryData data => data.ToArray(), // the port promises byte[]
                _ => value,
            };
        }
        return row;
    }

    public static TableTransactionAction ToAction(TableOperation op)
    {
        var row = op.Row;
        ETag ifMatch = row.ETag is { } e ? new ETag(e) : ETag.All;
        return op.Kind switch
        {
            TableOperationKind.Insert => new TableTransactionAction(TableTransactionActionType.Add, ToEntity(row)),
            TableOperationKind.Upsert => new TableTransactionAction(
                TableTransactionActionType.UpsertReplace,
                ToEntity(row)
            ),
            TableOperationKind.Replace => new TableTransactionAction(
                TableTransactionActionType.UpdateReplace,
                ToEntity(row),
                ifMatch
            ),
            TableOperationKind.Merge => new TableTransactionAction(
                TableTransactionActionType.UpdateMerge,
                ToEntity(row),
                ifMatch
            ),
            TableOperationKind.Delete => new TableTransactionAction(
                TableTransactionActionType.Delete,
                new TableEntity(row.PartitionKey, row.RowKey),
                ifMatch
            ),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op.Kind, "Unknown table operation."),
        };
    }

    private static bool IsSystemProperty(string name) =>
        name is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"
        || name.EndsWith("@odata.type", StringComparison.Ordinal);
}
