namespace Mlops.Core.Storage;

/// <summary>The three storage ports of one account, passed around together.</summary>
public sealed record StorageServices(IBlobStore Blobs, IQueueStore Queues, ITableStore Tables);
