using Microsoft.AspNetCore.Http;
using Mlops.Core;

namespace Mlops.Functions.Hosting;

/// <summary>
/// Who called, as far as the app can tell: the key the request carried. The Functions host checks the key before the
/// worker sees the request and forwards the request with it (<c>x-functions-key</c> or <c>?code=</c>), so the app
/// records a stable fingerprint of it (<see cref="KeyFingerprint"/>) — never the key itself
/// (records are readable with a function key) and never what a request body claims.
/// </summary>
public static class CallerIdentity
{
    /// <summary>The identity of a caller that sent no key (an anonymous route, or a host that strips keys).</summary>
    public const string Anonymous = KeyFingerprint.Anonymous;

    /// <summary>The fingerprint of the request's key, or <see cref="Anonymous"/>.</summary>
    public static string Of(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? key = request.Headers["x-functions-key"].FirstOrDefault();
        if (string.IsNullOrEmpty(key))
            key = request.Query["code"].FirstOrDefault();
        return string.IsNullOrEmpty(key) ? Anonymous : Fingerprint(key);
    }

    /// <summary>The key's fingerprint (<see cref="KeyFingerprint"/>: the one form approvals, feedback caps and lineage
    /// record).</summary>
    public static string Fingerprint(string key) => KeyFingerprint.Of(key);
}
