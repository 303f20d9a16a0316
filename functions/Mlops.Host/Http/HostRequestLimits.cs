using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mlops.Host.Http;

/// <summary>
/// The host's request limits, the ones Azure's Functions host runs with (v4.1037 WebHost Program: Kestrel's defaults
/// but a 100 MB body). Kestrel refuses a request over its own limits with an empty 414 or 431 before any of our code
/// runs, so Kestrel is given twice as much room and <see cref="Check"/> enforces the real limits, answering with the
/// documented error body; only requests past Kestrel's doubled limits (and malformed HTTP) still get Kestrel's empty
/// 400/414/431.
/// </summary>
public static class HostRequestLimits
{
    /// <summary>The longest request line (method, target, version): Kestrel's default, 8 KiB.</summary>
    public const int MaxRequestLineSize = 8 * 1024;

    /// <summary>The most header bytes (names, values, separators): Kestrel's default, 32 KiB.</summary>
    public const int MaxRequestHeadersTotalSize = 32 * 1024;

    /// <summary>Sets Kestrel's limits: the body limit as the host's, the line and header limits above ours.</summary>
    public static void Apply(KestrelServerLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.MaxRequestBodySize = HttpFront.MaxRequestBodySize;
        limits.MaxRequestLineSize = 2 * MaxRequestLineSize;
        limits.MaxRequestHeadersTotalSize = 2 * MaxRequestHeadersTotalSize;
    }

    /// <summary>The refusal for a request over a limit (status, code, message), or null when it is within
    /// them.</summary>
    public static (int Status, string Code, string Message)? Check(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (request.ContentLength > HttpFront.MaxRequestBodySize)
            return (StatusCodes.Status413PayloadTooLarge, HostErrorAnswer.TooLargeCode, TooLargeMessage);

        // As Kestrel counts them: "METHOD SP target SP version CRLF" and "name: value CRLF" per header value.
        string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget
            ?? request.Path.Value + request.QueryString.Value;
        int line = request.Method.Length + target.Length + request.Protocol.Length + 4;
        if (line > MaxRequestLineSize)
            return (
                StatusCodes.Status414UriTooLong,
                HostErrorAnswer.UriTooLongCode,
                $"The request line is {line} bytes; the limit is {MaxRequestLineSize}. Send long inputs in the body."
            );

        long headers = 0;
        foreach (var (name, values) in request.Headers)
        foreach (string? value in values)
            headers += name.Length + (value?.Length ?? 0) + 4;
        if (headers > MaxRequestHeadersTotalSize)
            return (
                StatusCodes.Status431RequestHeaderFieldsTooLarge,
                HostErrorAnswer.HeadersTooLargeCode,
                $"The request headers are {headers} bytes; the limit is {MaxRequestHeadersTotalSize}."
            );
        return null;
    }

    /// <summary>What a body over the limit is told (from its Content-Length, or while it streams).</summary>
    public static string TooLargeMessage =>
        $"The request body is larger than the host's limit of {HttpFront.MaxRequestBodySize} bytes (100 MiB).";
}
