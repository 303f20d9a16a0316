using System.Text;

namespace Mlops.Host.Triggers;

/// <summary>
/// The app settings the triggers read, as the worker sees them: <c>%NAME%</c> expressions in bindings, the
/// <c>AzureWebJobs.{Function}.Disabled</c> switch and storage connections. Semantics follow the WebJobs SDK
/// (azure-webjobs-sdk f79ea0b: NameResolverExtensions.ResolveWholeString, IConfigurationExtensions.IsSettingEnabled,
/// HostListenerFactory.IsDisabled).
/// </summary>
public sealed class AppSettings(Func<string, string?> lookup)
{
    /// <summary>The value of a setting, or null when it is not set.</summary>
    public string? this[string name] => lookup(name);

    /// <summary>
    /// Replaces every <c>%NAME%</c> with its setting. Throws <see cref="InvalidOperationException"/> naming the setting
    /// when one is missing, as the real host does ("'%NAME%' does not resolve to a value.").
    /// </summary>
    public string ResolveWholeString(string expression)
    {
        var result = new StringBuilder();
        int position = 0;
        while (position < expression.Length)
        {
            int start = expression.IndexOf('%', position);
            if (start < 0)
            {
                result.Append(expression, position, expression.Length - position);
                break;
            }
            int end = expression.IndexOf('%', start + 1);
            if (end < 0)
                throw new InvalidOperationException(
                    $"The '%' at position {start} of '{expression}' has no closing '%'."
                );
            string name = expression[(start + 1)..end];
            string value = lookup(name)
                ?? throw new InvalidOperationException($"'%{name}%' does not resolve to a value.");
            result.Append(expression, position, start - position).Append(value);
            position = end + 1;
        }
        return result.ToString();
    }

    /// <summary>True when the setting is "1" or "true" (any case); anything else, or no setting, is false.</summary>
    public bool IsEnabled(string name) =>
        lookup(name) is { } value && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The real host's per-function switch: <c>AzureWebJobs.{name}.Disabled</c>, or <c>AzureWebJobs_{name}_Disabled</c>
    /// where the environment cannot hold dots (Linux).
    /// </summary>
    public bool IsFunctionDisabled(string functionName) =>
        IsEnabled($"AzureWebJobs.{functionName}.Disabled") || IsEnabled($"AzureWebJobs_{functionName}_Disabled");

    /// <summary>
    /// The connection string a binding's <c>connection</c> names: <c>AzureWebJobs{name}</c> first, then <c>{name}</c>,
    /// each also under <c>ConnectionStrings:</c>; an empty name means the host's own storage
    /// (<c>AzureWebJobsStorage</c>). Identity-based connections (<c>{name}__serviceUri</c>) are not supported by this
    /// host and get a clear error.
    /// </summary>
    public string GetConnectionString(string? connectionName)
    {
        string name = string.IsNullOrWhiteSpace(connectionName) ? "Storage" : ResolveWholeString(connectionName);
        foreach (string candidate in new[] { "AzureWebJobs" + name, name })
        {
            if (lookup("ConnectionStrings:" + candidate) is { Length: > 0 } fromSection)
                return fromSection;
            if (lookup(candidate) is { Length: > 0 } value)
                return value;
        }
        throw new InvalidOperationException(
            $"Storage connection '{name}' is not defined: set the app setting 'AzureWebJobs{name}' or '{name}' to a connection string."
        );
    }
}
