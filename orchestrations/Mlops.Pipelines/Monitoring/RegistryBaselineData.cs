using Mlops.Data.Tabular;
using Mlops.Data.Versions;
using Mlops.ML.Models;
using Mlops.Monitoring;
using Mlops.Monitoring.Reference;
using Mlops.Registry;

namespace Mlops.Pipelines.Monitoring;

/// <summary>
/// The default <see cref="IBaselineData"/>: dataset versions from the dataset store (the model is named after its
/// dataset) and model files from the registry.
/// </summary>
public sealed class RegistryBaselineData(DatasetStore datasets, ModelRegistry registry) : IBaselineData
{
    /// <inheritdoc />
    public async Task<string> ResolveDatasetHashAsync(
        string model,
        string hashOrPrefix,
        CancellationToken cancellationToken
    )
    {
        var versions = await datasets.ListVersionsAsync(model, cancellationToken).ConfigureAwait(false);
        var matches = versions
            .Where(v => v.Hash.StartsWith(hashOrPrefix, StringComparison.Ordinal))
            .Select(v => v.Hash)
            .Distinct()
            .ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new MonitoringException(
                "monitoring.baseline",
                $"monitoring.baseline.dataset '{hashOrPrefix}' matches no version of dataset '{model}'"
                    + (
                        versions.Count == 0
                            ? " (it has none)."
                            : $"; its versions start with {string.Join(", ", versions.Take(5).Select(v => v.Hash[..12]))}{(versions.Count > 5 ? ", …" : "")}."
                    ),
                404
            ),
            _ => throw new MonitoringException(
                "monitoring.baseline",
                $"monitoring.baseline.dataset '{hashOrPrefix}' matches {matches.Count} versions of dataset '{model}' ({string.Join(", ", matches.Select(h => h[..12]))}); give more of the hash."
            ),
        };
    }

    /// <inheritdoc />
    public Task<DataTable> LoadDatasetAsync(string model, string hash, CancellationToken cancellationToken) =>
        datasets.LoadTableAsync(model, hash, cancellationToken);

    /// <inheritdoc />
    public async Task<Model> LoadModelAsync(string model, int version, CancellationToken cancellationToken) =>
        Model.FromJson(
            System.Text.Encoding.UTF8.GetString(
                await registry.ReadModelFileAsync(model, version, cancellationToken).ConfigureAwait(false)
            )
        );
}
