using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace Mlops.Storage.Azure;

/// <summary>
/// The one HTTP pipeline of every storage client in the process: a single pooled <see cref="HttpClient"/> (connections
/// to Azurite or Azure are reused across blob, queue and table calls) and one short retry policy.
/// </summary>
internal static class StoragePipeline
{
    // One handler for the whole process: a new HttpClient per client would open new sockets for each and, at hundreds
    // of operations a second (the orchestration engine), exhaust ephemeral ports. The pooled connection lifetime makes
    // DNS changes (failover) visible within minutes.
    private static readonly HttpClient SharedHttpClient = new(
        new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            UseCookies = false,
            AllowAutoRedirect = false,
        }
    )
    {
        // The pipeline's NetworkTimeout bounds each try; the client-wide timeout must not cut a long upload short.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private static readonly HttpClientTransport SharedTransport = new(SharedHttpClient);

    public static BlobClientOptions BlobOptions() => Configure(new BlobClientOptions());

    public static QueueClientOptions QueueOptions() => Configure(new QueueClientOptions());

    public static TableClientOptions TableOptions() => Configure(new TableClientOptions());

    /// <summary>
    /// Short, bounded retries (2 retries, 200 ms exponential, at most 2 s apart; 30 s per try): callers (the
    /// orchestration engine, trigger loops) have their own retry with back-off, and a long SDK retry would stall a
    /// whole dispatcher during a storage outage.
    /// </summary>
    private static T Configure<T>(T options)
        where T : ClientOptions
    {
        options.Transport = SharedTransport;
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        // Request/response logging goes to an EventSource nobody listens to locally; skip building the messages.
        options.Diagnostics.IsLoggingEnabled = false;
        return options;
    }
}
