using System.Text.Json;

namespace Mlops.Host.Hosting;

/// <summary>
/// Which of the worker's log lines (RpcLog) the host prints: host.json <c>logging.logLevel</c>, the longest category
/// prefix wins, then <c>default</c>, then Information (the host's default). The real host files worker logs under its
/// own categories (<c>Function.{name}.User</c>, the worker channel's); we filter on the worker's own category instead,
/// so the app's <c>"Microsoft.AspNetCore": "Warning"</c> keeps the worker's Kestrel from printing four lines per
/// request (which cost the front a large share of its throughput when every one of them went to the console).
/// </summary>
public sealed class WorkerLogFilter
{
    private readonly (string Prefix, LogLevel Level)[] _rules;
    private readonly LogLevel _default;

    /// <summary>Everything at Information and above (no host.json logging section).</summary>
    public static WorkerLogFilter Default { get; } = new([], LogLevel.Information);

    private WorkerLogFilter((string Prefix, LogLevel Level)[] rules, LogLevel fallback)
    {
        _rules = rules.OrderByDescending(r => r.Prefix.Length).ToArray();
        _default = fallback;
    }

    /// <summary>Reads <c>logging.logLevel</c>; a level that is not a LogLevel name is a clear error naming the
    /// category.</summary>
    public static WorkerLogFilter FromHostJson(JsonElement hostJson)
    {
        if (
            hostJson.ValueKind != JsonValueKind.Object
            || !hostJson.TryGetProperty("logging", out var logging)
            || logging.ValueKind != JsonValueKind.Object
            || !logging.TryGetProperty("logLevel", out var levels)
            || levels.ValueKind != JsonValueKind.Object
        )
            return Default;
        var rules = new List<(string, LogLevel)>();
        var fallback = LogLevel.Information;
        foreach (var entry in levels.EnumerateObject())
        {
            if (
                entry.Value.ValueKind != JsonValueKind.String
                || !Enum.TryParse(entry.Value.GetString(), ignoreCase: true, out LogLevel level)
                || !Enum.IsDefined(level)
            )
                throw new InvalidOperationException(
                    $"host.json: logging.logLevel.{entry.Name} must be Trace, Debug, Information, Warning, Error, Critical or None, "
                        + $"not {entry.Value.GetRawText()}."
                );
            if (string.Equals(entry.Name, "default", StringComparison.OrdinalIgnoreCase))
                fallback = level;
            else
                rules.Add((entry.Name, level));
        }
        return new WorkerLogFilter(rules.ToArray(), fallback);
    }

    /// <summary>True when a worker line of <paramref name="category"/> at <paramref name="level"/> is
    /// printed.</summary>
    public bool IsEnabled(string category, LogLevel level)
    {
        if (level == LogLevel.None)
            return false;
        foreach (var (prefix, minimum) in _rules)
        {
            // "Microsoft.AspNetCore" covers "Microsoft.AspNetCore.Routing.EndpointMiddleware", not
            // "Microsoft.AspNetCoreX".
            if (
                category.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                && (category.Length == prefix.Length || category[prefix.Length] == '.')
            )
                return minimum != LogLevel.None && level >= minimum;
        }
        return _default != LogLevel.None && level >= _default;
    }
}
