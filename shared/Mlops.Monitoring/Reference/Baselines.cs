using Mlops.Data.Tabular;
using Mlops.ML.Models;
using Mlops.Monitoring.Window;

namespace Mlops.Monitoring.Reference;

/// <summary>Which baseline a report was computed against (<c>report.json</c> <c>baseline</c>).</summary>
/// <param name="Kind"><c>serving</c>, <c>dataset</c> or <c>previous-window</c>.</param>
/// <param name="Version">Model version whose calibration, classes and metrics were used (and, for <c>serving</c>, whose
/// training profile).</param>
/// <param name="Rows">Rows the baseline's distributions come from.</param>
/// <param name="DatasetHash">Dataset: the pinned version's full hash.</param>
/// <param name="From">Previous window: start.</param>
/// <param name="To">Previous window: end (the current window's start).</param>
/// <param name="Description">One sentence for people.</param>
public sealed record BaselineInfo(
    string Kind,
    int Version,
    long Rows,
    string? DatasetHash,
    DateTimeOffset? From,
    DateTimeOffset? To,
    string Description
);

/// <summary>
/// Baselines other than the serving version's training profile. A baseline replaces only the distributions a window
/// is compared with (features, score, predicted classes); the monitored version's calibration (CBPE), classes,
/// threshold and reference metrics stay, because they describe the model, not the data.
/// </summary>
public static class Baselines
{
    /// <summary><paramref name="serving"/> with the feature, score and predicted-class summaries of <paramref
    /// name="distributions"/>.</summary>
    /// <exception cref="MonitoringException"><c>monitoring.baseline</c> when a feature is missing or summarized as
    /// another kind.</exception>
    public static ReferenceProfile WithDistributionsOf(this ReferenceProfile serving, ReferenceProfile distributions)
    {
        var byName = distributions.Features.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var features = serving
            .Features.Select(f =>
                byName.TryGetValue(f.Name, out var d) && d.Kind == f.Kind
                    ? d
                    : throw new MonitoringException(
                        "monitoring.baseline",
                        d is null
                            ? $"The baseline has no column '{f.Name}' that the model uses."
                            : $"The baseline's column '{f.Name}' is {d.Kind.ToString().ToLowerInvariant()}, but the model reads it as {f.Kind.ToString().ToLowerInvariant()}."
                    )
            )
            .ToList();
        return serving with
        {
            Features = features,
            Score = distributions.Score,
            PredictedLabels = distributions.PredictedLabels ?? serving.PredictedLabels,
            Rows = distributions.Rows,
        };
    }

    /// <summary>
    /// <paramref name="serving"/> with the distributions of an already read window (the previous one), summarized by
    /// the same <see cref="FeatureSummaries"/> as a training profile, so every drift test runs exactly as against
    /// training data.
    /// </summary>
    public static ReferenceProfile FromWindow(ReferenceProfile serving, WindowData window)
    {
        ArgumentNullException.ThrowIfNull(serving);
        ArgumentNullException.ThrowIfNull(window);
        return serving with
        {
            Features = window.Columns.Select(Summarize).ToList(),
            Score = Summarize(window.Score),
            PredictedLabels = serving.PredictedLabels is null ? null : Summarize(window.PredictedLabels),
            Rows = window.Rows,
        };
    }

    private static FeatureReference Summarize(ColumnWindow c) =>
        c.Reference.Kind == ReferenceKind.Numeric
            ? FeatureSummaries.Numeric(c.Reference.Name, c.Sorted ?? [], c.Rows, ReferenceProfile.ExactUpTo)
            : FeatureSummaries.Categorical(
                c.Reference.Name,
                c.Reference.Kind,
                c.Counts ?? new Dictionary<string, long>(StringComparer.Ordinal),
                c.Rows
            );
}

/// <summary>Where a pinned-dataset baseline comes from; the host implements it over its dataset store and model
/// registry.</summary>
public interface IBaselineData
{
    /// <summary>The full hash of the model's dataset version named by <paramref name="hashOrPrefix"/>.</summary>
    /// <exception cref="MonitoringException"><c>monitoring.baseline</c> when no version or more than one
    /// matches.</exception>
    Task<string> ResolveDatasetHashAsync(string model, string hashOrPrefix, CancellationToken cancellationToken);

    /// <summary>The rows of a dataset version.</summary>
    Task<DataTable> LoadDatasetAsync(string model, string hash, CancellationToken cancellationToken);

    /// <summary>A registered model version.</summary>
    Task<Model> LoadModelAsync(string model, int version, CancellationToken cancellationToken);
}

/// <summary>
/// Profiles of pinned dataset versions: computed once per (model version, dataset hash) — one read of the dataset and
/// one prediction pass — and stored next to the version (<c>models/{model}/v{N}/baselines/dataset-{hash}.json</c>), so
/// every later run reads a few KB and stays O(window).
/// </summary>
public sealed class DatasetBaselines(MonitoringStore store, IBaselineData? data = null)
{
    /// <summary>The profile of the dataset version <paramref name="hashOrPrefix"/> as seen by <paramref name="model"/>
    /// v<paramref name="version"/>, and its full hash.</summary>
    public async Task<(ReferenceProfile Profile, string Hash)> GetAsync(
        string model,
        int version,
        string hashOrPrefix,
        CancellationToken cancellationToken = default
    )
    {
        if (data is null)
            throw NotAvailable();
        string hash = await data.ResolveDatasetHashAsync(model, hashOrPrefix, cancellationToken).ConfigureAwait(false);
        if (
            await store.TryReadDatasetBaselineAsync(model, version, hash, cancellationToken).ConfigureAwait(false) is
            { } stored
        )
            return (stored, hash);
        var table = await data.LoadDatasetAsync(model, hash, cancellationToken).ConfigureAwait(false);
        var loaded = await data.LoadModelAsync(model, version, cancellationToken).ConfigureAwait(false);
        var profile = ReferenceProfile.Build(table, loaded, attributionRows: 0); // lends distributions only
        await store.WriteDatasetBaselineAsync(model, version, hash, profile, cancellationToken).ConfigureAwait(false);
        return (profile, hash);
    }

    /// <summary>The error of a run that asks for a pinned dataset on a host without dataset access.</summary>
    internal static MonitoringException NotAvailable() =>
        new(
            "monitoring.baseline",
            "This host cannot read dataset versions, so monitoring.baseline {\"dataset\": …} is not available here; use \"serving\" or \"previous-window\"."
        );
}
