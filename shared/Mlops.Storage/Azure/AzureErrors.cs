using Microsoft.WindowsAzure.Storage;
using Mlops.Core.Storage;

namespace Mlops.Storage.Azure;

/// <summary>Maps the SDK's StorageException onto the ports' two meaningful failures: a lost condition, or storage unreachable.</summary>
internal static class AzureErrors
{
    public static int Status(StorageException e) => e.RequestInformation?.HttpStatusCode ?? 0;

    public static string? Code(StorageException e) => e.RequestInformation?.ErrorCode;

    public static bool IsNotFound(StorageException e) => Status(e) == 404;

    /// <summary>412 (ETag), 409 (exists / lease held). Azurite answers 500 for a failed conditional table batch.</summary>
    public static bool IsConflict(StorageException e, bool conditionalBatch = false) =>
        Status(e) is 409 or 412 || (conditionalBatch && Status(e) == 500);

    public static Exception Translate(StorageException e, string what)
    {
        int status = Status(e);
        if (status is 409 or 412) return new StorageConflictException($"{what}: condition failed ({status} {Code(e)}).", e);
        if (status == 0 || status >= 500 || status == 408)
            return new StorageUnavailableException($"{what}: storage unavailable ({(status == 0 ? e.InnerException?.Message ?? e.Message : status.ToString())}).", e);
        return new InvalidOperationException($"{what}: storage answered {status} {Code(e)}: {e.Message}", e);
    }
}
