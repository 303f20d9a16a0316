using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Mlops.Core;
using Mlops.Core.Errors;

namespace Mlops.Data.Alerts;

/// <summary>Resolves a host name to addresses (injectable so tests do not need DNS).</summary>
public delegate Task<IPAddress[]> HostResolver(string host, CancellationToken cancellationToken);

/// <summary>Settings of <see cref="SafeWebhookSender"/>.</summary>
public sealed record WebhookOptions
{
    /// <summary>Environment variable that allows plain-http webhooks (local use only).</summary>
    public const string AllowHttpVariable = "MLOPS_ALLOW_HTTP_WEBHOOKS";

    /// <summary>Accept <c>http://</c> URLs; off by default (https only).</summary>
    public bool AllowHttp { get; init; }

    /// <summary>
    /// Environment variable that also accepts loopback addresses (a receiver on this machine). For local development
    /// and the end-to-end tests, whose worker runs as a separate process behind the local host and so can only be told
    /// by its environment; never set it in Azure.
    /// </summary>
    public const string AllowLoopbackVariable = "MLOPS_ALLOW_LOOPBACK_WEBHOOKS";

    /// <summary>Accept loopback addresses (a listener on 127.0.0.1). Off by default; never set it in Azure.</summary>
    public bool AllowLoopbackForTests { get; init; }

    /// <summary>Limit of one delivery (connect + answer).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Name resolution; DNS by default.</summary>
    public HostResolver Resolver { get; init; } = static (host, ct) => Dns.GetHostAddressesAsync(host, ct);

    /// <summary>Defaults, with <see cref="AllowHttp"/> from <c>MLOPS_ALLOW_HTTP_WEBHOOKS=true</c> and
    /// <see cref="AllowLoopbackForTests"/> from <c>MLOPS_ALLOW_LOOPBACK_WEBHOOKS=true</c>.</summary>
    public static WebhookOptions FromEnvironment() =>
        new() { AllowHttp = IsTrue(AllowHttpVariable), AllowLoopbackForTests = IsTrue(AllowLoopbackVariable) };

    private static bool IsTrue(string variable) =>
        string.Equals(Environment.GetEnvironmentVariable(variable), "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The <c>alertWebhook</c> setting's rules, checked when mlops.json is read (before any alert is
/// sent).</summary>
public static class WebhookUrl
{
    /// <summary>Error code of an invalid <c>alertWebhook</c>.</summary>
    public const string InvalidCode = "config.invalid_alert_webhook";

    /// <summary>Null when <paramref name="url"/> is an acceptable webhook URL, else why not (a sentence naming
    /// <c>alertWebhook</c>).</summary>
    public static string? Problem(string? url, bool allowHttp, bool allowLoopbackForTests = false)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            return $"\"alertWebhook\" '{url}' is not an absolute URL; use e.g. https://hooks.example.com/mlops";
        if (uri.Scheme != Uri.UriSchemeHttps && !(allowHttp && uri.Scheme == Uri.UriSchemeHttp))
            return $"\"alertWebhook\" must be an https URL{(allowHttp ? " (or http)" : $" (http only with {WebhookOptions.AllowHttpVariable}=true, for local use)")}, got scheme '{uri.Scheme}'";
        if (!string.IsNullOrEmpty(uri.UserInfo))
            return "\"alertWebhook\" must not carry credentials in the URL (user:password@)";
        if (
            IPAddress.TryParse(uri.IdnHost, out var literal)
            && AddressPolicy.Blocked(literal, allowLoopbackForTests) is { } why
        )
            return $"\"alertWebhook\" points at {literal}, {why}";
        return null;
    }

    /// <summary>Parses a webhook URL or throws a 400 <see cref="MlopsException"/> (<see cref="InvalidCode"/>) naming
    /// <c>alertWebhook</c>.</summary>
    public static Uri Parse(string? url, bool allowHttp, bool allowLoopbackForTests = false) =>
        Problem(url, allowHttp, allowLoopbackForTests) is { } why
            ? throw new MlopsException(InvalidCode, why + ".")
            : new Uri(url!, UriKind.Absolute);
}

/// <summary>Which addresses a webhook may reach: public unicast only.</summary>
public static class AddressPolicy
{
    private static readonly (IPAddress Network, int Prefix, string Why)[] BlockedV4 =
    [
        (IPAddress.Parse("0.0.0.0"), 8, "an unspecified address"),
        (IPAddress.Parse("10.0.0.0"), 8, "a private address"),
        (IPAddress.Parse("100.64.0.0"), 10, "a shared (carrier NAT) address"),
        (IPAddress.Parse("127.0.0.0"), 8, "a loopback address"),
        (IPAddress.Parse("169.254.0.0"), 16, "a link-local (cloud metadata) address"),
        (IPAddress.Parse("172.16.0.0"), 12, "a private address"),
        (IPAddress.Parse("192.0.0.0"), 24, "a special-purpose address"),
        (IPAddress.Parse("192.0.2.0"), 24, "a documentation address (TEST-NET-1)"),
        (IPAddress.Parse("198.51.100.0"), 24, "a documentation address (TEST-NET-2)"),
        (IPAddress.Parse("203.0.113.0"), 24, "a documentation address (TEST-NET-3)"),
        (IPAddress.Parse("192.88.99.0"), 24, "a 6to4 relay anycast address"),
        (IPAddress.Parse("192.168.0.0"), 16, "a private address"),
        (IPAddress.Parse("198.18.0.0"), 15, "a benchmarking address"),
        (IPAddress.Parse("224.0.0.0"), 4, "a multicast address"),
        (IPAddress.Parse("240.0.0.0"), 4, "a reserved or broadcast address"),
    ];

    private static readonly (IPAddress Network, int Prefix, string Why)[] BlockedV6 =
    [
        (IPAddress.Parse("::"), 96, "an IPv4-compatible address"),
        (IPAddress.Parse("fc00::"), 7, "a private (unique local) address"),
        (IPAddress.Parse("fe80::"), 10, "a link-local address"),
        (IPAddress.Parse("fec0::"), 10, "a site-local address"),
        (IPAddress.Parse("ff00::"), 8, "a multicast address"),
        (IPAddress.Parse("64:ff9b::"), 96, "a NAT64 address"),
        (IPAddress.Parse("64:ff9b:1::"), 48, "a local-use NAT64 address"),
        (IPAddress.Parse("100::"), 64, "a discard-only address"),
        (IPAddress.Parse("2001:db8::"), 32, "a documentation address"),
        (IPAddress.Parse("3fff::"), 20, "a documentation address"),
        (IPAddress.Parse("2001:2::"), 48, "a benchmarking address"),
        (IPAddress.Parse("2002::"), 16, "a 6to4 address"),
    ];

    /// <summary>Null when a webhook may connect to <paramref name="address"/>, else why not.</summary>
    public static string? Blocked(IPAddress address, bool allowLoopback = false)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (allowLoopback && IPAddress.IsLoopback(address))
            return null;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.Equals(IPAddress.IPv6Any))
                return "an unspecified address";
            if (address.Equals(IPAddress.IPv6Loopback))
                return "a loopback address";
        }
        foreach (
            var (network, prefix, why) in address.AddressFamily == AddressFamily.InterNetwork ? BlockedV4 : BlockedV6
        )
            if (InNetwork(address, network, prefix))
                return why;
        return null;
    }

    private static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        if (address.AddressFamily != network.AddressFamily)
            return false;
        byte[] a = address.GetAddressBytes(),
            n = network.GetAddressBytes();
        for (int bit = 0; bit < prefix; bit++)
        {
            int mask = 0x80 >> (bit % 8);
            if ((a[bit / 8] & mask) != (n[bit / 8] & mask))
                return false;
        }
        return true;
    }
}

/// <summary>
/// Delivers alerts to a webhook without becoming an SSRF tool: the URL must be https (http only when allowed), every
/// connection resolves the host itself, refuses if any address is loopback, link-local/metadata, private, unspecified
/// or multicast, and connects to the vetted address (so a DNS answer cannot change between check and connect);
/// redirects are never followed and no proxy is used. <see cref="SendAsync"/> throws on any failure, so a durable
/// activity retry (with back-off) can deliver again; receivers drop duplicates by <see cref="Alert.DedupKey"/>.
/// </summary>
public sealed class SafeWebhookSender : IAlertSink, IDisposable
{
    private readonly HttpClient _http;
    private readonly WebhookOptions _options;

    /// <summary>Creates a sender for one webhook URL (validated with <see cref="WebhookUrl.Parse"/>).</summary>
    public SafeWebhookSender(string url, WebhookOptions? options = null)
    {
        _options = options ?? WebhookOptions.FromEnvironment();
        if (_options.Timeout <= TimeSpan.Zero)
            throw new ArgumentException("WebhookOptions.Timeout must be positive.", nameof(options));
        Url = WebhookUrl.Parse(url, _options.AllowHttp, _options.AllowLoopbackForTests);
        _http = CreateClient(_options);
    }

    /// <summary>The validated URL.</summary>
    public Uri Url { get; }

    /// <summary>An HttpClient whose every connection is vetted as described on <see
    /// cref="SafeWebhookSender"/>.</summary>
    public static HttpClient CreateClient(WebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = async (context, ct) =>
            {
                var address = await VetAsync(context.DnsEndPoint.Host, options, ct).ConfigureAwait(false);
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket
                        .ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct)
                        .ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { Timeout = options.Timeout };
    }

    /// <summary>Resolves <paramref name="host"/> and returns the address to connect to; throws when any answer is
    /// blocked.</summary>
    public static async Task<IPAddress> VetAsync(
        string host,
        WebhookOptions options,
        CancellationToken cancellationToken = default
    )
    {
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await options.Resolver(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
            throw new HttpRequestException($"The webhook host '{host}' did not resolve.");
        foreach (var a in addresses)
            if (AddressPolicy.Blocked(a, options.AllowLoopbackForTests) is { } why)
                throw new HttpRequestException(
                    $"The webhook host '{host}' resolves to {a}, {why}; webhooks may only reach public addresses."
                );
        return addresses[0];
    }

    /// <summary>POSTs the alert as JSON; throws <see cref="MlopsException"/> (<c>alert.delivery_failed</c>, 502) on any
    /// failure.</summary>
    public async Task SendAsync(Alert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        // "text" lets Slack/Teams-style incoming webhooks show it as-is; the rest is for machines.
        var payload = new
        {
            text = alert.Message,
            dedupKey = alert.DedupKey,
            alert,
        };
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsJsonAsync(Url, payload, Json.Options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
            when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw Failed(
                e is TaskCanceledException ? $"no answer within {_options.Timeout.TotalSeconds:0.#} s" : e.Message,
                e
            );
        }
        using (response)
        {
            int status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
                throw Failed($"it answered a redirect ({status}), which is not followed");
            if (!response.IsSuccessStatusCode)
                throw Failed($"it answered {status}");
        }
    }

    private MlopsException Failed(string why, Exception? inner = null) =>
        new(
            "alert.delivery_failed",
            $"The alert webhook {Url.GetLeftPart(UriPartial.Path)} was not delivered: {why}.",
            502,
            inner
        );

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
