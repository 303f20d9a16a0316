using System.Text.Json;
using Mlops.Core.Storage;
using Mlops.Monitoring;
using Mlops.Pipelines.Configuration;
using Mlops.Registry;

namespace Mlops.Pipelines.Monitoring;

/// <summary>
/// The default <see cref="IMonitoringSource"/>: the <c>monitoring</c> section of <c>incoming/{model}/mlops.json</c>
/// (the model is named after its dataset) and the registry's <c>production</c> alias as the baseline version.
/// </summary>
public sealed class RegistryMonitoringSource(IBlobStore blobs, ModelRegistry registry) : IMonitoringSource
{
    /// <inheritdoc />
    public async Task<string?> GetMonitoringJsonAsync(string model, CancellationToken cancellationToken)
    {
        var content = await blobs
            .ReadAsync(
                PipelineConfigLoader.IncomingContainer,
                PipelineConfigLoader.ConfigBlobName(model),
                cancellationToken
            )
            .ConfigureAwait(false);
        if (content is null)
            return null;
        try
        {
            using var doc = JsonDocument.Parse(content.Data);
            return
                doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("monitoring", out var m)
                ? m.GetRawText()
                : null;
        }
        catch (JsonException e)
        {
            throw new MonitoringException(
                "monitoring.config",
                $"{PipelineConfigLoader.ConfigBlobName(model)} is not valid JSON: {e.Message}"
            );
        }
    }

    /// <inheritdoc />
    public async Task<int?> GetServingVersionAsync(string model, CancellationToken cancellationToken)
    {
        var state = await registry.TryGetStateAsync(model, cancellationToken).ConfigureAwait(false);
        return state is not null && state.Aliases.TryGetValue(ModelRegistry.ProductionAlias, out int v) ? v : null;
    }

    /// <inheritdoc />
    public async Task<bool> ModelExistsAsync(string model, CancellationToken cancellationToken) =>
        await registry.TryGetStateAsync(model, cancellationToken).ConfigureAwait(false) is not null;
}
