using Mlops.Core.Errors;

namespace Mlops.Monitoring;

/// <summary>
/// The monitoring library's error: bad configuration, a malformed feedback batch, an unknown model or run. Codes start
/// with <c>monitoring.</c>; <see cref="MlopsException.Status"/> is a 4xx for anything the caller can fix.
/// </summary>
public sealed class MonitoringException(string code, string message, int status = 400, Exception? inner = null)
    : MlopsException(code, message, status, inner);
