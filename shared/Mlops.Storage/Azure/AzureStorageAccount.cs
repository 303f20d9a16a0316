using Microsoft.WindowsAzure.Storage;
using Microsoft.WindowsAzure.Storage.RetryPolicies;
using Mlops.Core.Storage;

namespace Mlops.Storage.Azure;

/// <summary>Builds the three storage ports for one account from a connection string (AzureWebJobsStorage).</summary>
public static class AzureStorageAccount
{
    /// <summary>The connection string used when none is configured: the local emulator's default ports.</summary>
    public const string DevelopmentConnectionString = "UseDevelopmentStorage=true";

    public static StorageServices Connect(string? connectionString)
    {
        var account = CloudStorageAccount.Parse(string.IsNullOrWhiteSpace(connectionString) ? DevelopmentConnectionString : connectionString);
        return new StorageServices(new AzureBlobStore(account), new AzureQueueStore(account), new AzureTableStore(account));
    }

    /// <summary>
    /// Short, bounded retries: callers (the orchestration engine, trigger loops) have their own retry with back-off,
    /// and a long SDK retry would stall a whole dispatcher during a storage outage.
    /// </summary>
    internal static IRetryPolicy RetryPolicy => new ExponentialRetry(TimeSpan.FromMilliseconds(200), 2);

    internal static readonly TimeSpan MaximumExecutionTime = TimeSpan.FromSeconds(30);
}
