namespace Mlops.Core.Storage;

/// <summary>A conditional write lost: the entity/blob changed (ETag mismatch), already exists, or a lease is held
/// elsewhere.</summary>
public sealed class StorageConflictException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Storage could not be reached or answered with a transient error; callers retry.</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
