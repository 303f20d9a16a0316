using System.Text.Json;
using Mlops.Monitoring.Policy;

namespace Mlops.Monitoring;

/// <summary>Where a model's monitoring settings and serving version come from (mlops.json and the registry in the
/// host).</summary>
public interface IMonitoringSource
{
    /// <summary>The model's <c>monitoring</c> section as raw JSON (null when absent).</summary>
    Task<string?> GetMonitoringJsonAsync(string model, CancellationToken cancellationToken);

    /// <summary>The version serving production traffic (the baseline), or null when nothing is promoted.</summary>
    Task<int?> GetServingVersionAsync(string model, CancellationToken cancellationToken);

    /// <summary>Whether the model is registered at all (feedback for a model that does not exist is a 404).
    /// The default treats a model without a production version as absent; a registry-backed source knows
    /// better.</summary>
    async Task<bool> ModelExistsAsync(string model, CancellationToken cancellationToken) =>
        await GetServingVersionAsync(model, cancellationToken).ConfigureAwait(false) is not null;
}

/// <summary>Starts a monitor run (the <c>MonitorModel</c> orchestration) on demand; implemented over the durable
/// client.</summary>
public interface IMonitorLauncher
{
    /// <summary>Schedules a run for <paramref name="model"/> now; returns its run id (the orchestration instance
    /// id).</summary>
    Task<string> StartMonitorAsync(string model, CancellationToken cancellationToken);
}

/// <summary>Helpers over <see cref="IMonitoringSource"/>.</summary>
public static class MonitoringSourceExtensions
{
    /// <summary>The model's parsed and validated monitoring options (defaults when the section is absent).</summary>
    /// <exception cref="MonitoringException"><c>monitoring.config</c> naming the invalid key.</exception>
    public static async Task<MonitoringOptions> GetOptionsAsync(
        this IMonitoringSource source,
        string model,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentNullException.ThrowIfNull(source);
        string? json = await source.GetMonitoringJsonAsync(model, cancellationToken).ConfigureAwait(false);
        return ParseOptions(json);
    }

    /// <summary>Parses a raw <c>monitoring</c> section (null or empty: defaults).</summary>
    public static MonitoringOptions ParseOptions(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
            return new MonitoringOptions();
        try
        {
            using var doc = JsonDocument.Parse(json);
            return MonitoringOptions.Parse(doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new MonitoringException("monitoring.config", $"monitoring is not valid JSON: {e.Message}");
        }
    }
}
