using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Mlops.Functions.Hosting;

/// <summary>
/// The request limits of the worker's own Kestrel (the ASP.NET Core integration's HttpUri), set to agree with the
/// Functions host in front of it. Every request the host lets through must pass here too: with Kestrel's defaults
/// (30,000,000-byte body, 8 KiB request line, 32 KiB headers) a body between 30 MB and the host's 100 MB, or headers
/// the host accepted plus the forwarding headers it adds, were refused mid-stream inside the hop and came back as 500s.
/// The handlers keep their own, smaller body limits (a predict batch, a feedback batch, a schema), each a 413 naming
/// it.
/// </summary>
public static class WorkerRequestLimits
{
    /// <summary>The host's body limit when <see cref="BodyLimitSetting"/> is not set: 100 MiB (Azure's
    /// default).</summary>
    public const long DefaultMaxRequestBodySize = 100L * 1024 * 1024;

    /// <summary>The app setting Azure's host reads its body limit from (bytes).</summary>
    public const string BodyLimitSetting = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT";

    /// <summary>Request line room: twice the host's 8 KiB, so whatever the host forwards fits.</summary>
    public const int MaxRequestLineSize = 16 * 1024;

    /// <summary>Header room: twice the host's 32 KiB, for the caller's headers plus those the hop adds.</summary>
    public const int MaxRequestHeadersTotalSize = 64 * 1024;

    /// <summary>The body limit the host in front applies: <see cref="BodyLimitSetting"/> when it is a positive
    /// number.</summary>
    public static long HostBodyLimit(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return long.TryParse(configuration[BodyLimitSetting], out long configured) && configured > 0
            ? configured
            : DefaultMaxRequestBodySize;
    }

    /// <summary>Applies the limits to the worker's Kestrel.</summary>
    public static void Apply(KestrelServerLimits limits, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.MaxRequestBodySize = HostBodyLimit(configuration);
        limits.MaxRequestLineSize = Math.Max(limits.MaxRequestLineSize, MaxRequestLineSize);
        limits.MaxRequestHeadersTotalSize = Math.Max(limits.MaxRequestHeadersTotalSize, MaxRequestHeadersTotalSize);
    }
}
