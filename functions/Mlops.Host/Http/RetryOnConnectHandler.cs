using Mlops.Host.Hosting;

namespace Mlops.Host.Http;

/// <summary>
/// Retries a hop to the worker that failed to connect: right after the handshake the worker's own Kestrel may not be
/// listening yet. The host does the same (azure-functions-host v4.1037, RetryProxyHandler: up to 10 attempts, 50 ms
/// doubling to at most 250 ms, only for HttpRequestException).
/// </summary>
internal sealed class RetryOnConnectHandler(HttpMessageHandler inner, HostLog log) : DelegatingHandler(inner)
{
    internal const int MaxAttempts = 10;
    private const int FirstDelayMs = 50,
        MaxDelayMs = 250;

    protected override async Task<HttpResponseMessage> SendAsync(
        HttpRequestMessage request,
        CancellationToken cancellationToken
    )
    {
        int delay = FirstDelayMs;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e) when (attempt < MaxAttempts)
            {
                log.Host(
                    $"forwarding to the worker failed ({e.Message}); retry {attempt} of {MaxAttempts - 1} in {delay} ms"
                );
                await Task.Delay(delay, cancellationToken);
                delay = Math.Min(delay * 2, MaxDelayMs);
            }
        }
    }
}
