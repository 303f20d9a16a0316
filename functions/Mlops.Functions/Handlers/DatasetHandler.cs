using Mlops.Core.Errors;
using Mlops.Data;
using Mlops.Data.Schema;
using Mlops.Data.Versions;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Handlers;

/// <summary>
/// The dataset API: every dataset, its versions, one version's profile and validation report, and the schema (read and
/// replace). Bad names are <see cref="Mlops.Core.Naming.DatasetName"/> errors, the rest <see cref="DataException"/>s.
/// </summary>
public sealed class DatasetHandler(DatasetStore store)
{
    /// <summary>Largest schema document accepted by <c>PUT /schema</c>.</summary>
    public const int MaxSchemaBytes = 1024 * 1024;

    /// <summary>Every dataset: versions, newest version, quarantined count.</summary>
    public async Task<ApiResponse> ListAsync(CancellationToken cancellationToken = default) =>
        ApiResponse.Json(await store.ListDatasetsAsync(cancellationToken));

    /// <summary>A dataset's versions, newest first.</summary>
    public async Task<ApiResponse> GetAsync(string dataset, CancellationToken cancellationToken = default) =>
        ApiResponse.Json(await store.GetVersionsAsync(dataset, cancellationToken));

    /// <summary>Index row, profile and validation report of one version.</summary>
    public async Task<ApiResponse> GetVersionAsync(
        string dataset,
        string hash,
        CancellationToken cancellationToken = default
    ) =>
        ApiResponse.Json(
            await store.GetVersionDetailsAsync(dataset, hash, cancellationToken)
                ?? throw new DataException("data.version_not_found", $"Dataset '{dataset}' has no version {hash}.", 404)
        );

    /// <summary>The schema document (404 before the first usable version).</summary>
    public async Task<ApiResponse> GetSchemaAsync(string dataset, CancellationToken cancellationToken = default) =>
        ApiResponse.Json(
            await store.GetSchemaAsync(dataset, cancellationToken)
                ?? throw new DataException(
                    "data.schema_not_found",
                    $"Dataset '{dataset}' has no schema yet (it is inferred from the first accepted version).",
                    404
                )
        );

    /// <summary>Replaces the schema (strictly read and validated; a 400 names the problem).</summary>
    public async Task<ApiResponse> PutSchemaAsync(
        string dataset,
        Stream body,
        CancellationToken cancellationToken = default
    )
    {
        DatasetStore.ValidateDatasetName(dataset);
        var schema = (
            await RequestJson.ReadAsync<DatasetSchema>(
                body,
                "schema",
                maxBytes: MaxSchemaBytes,
                cancellationToken: cancellationToken
            )
        )!;
        await store.SaveSchemaAsync(dataset, schema, cancellationToken);
        return ApiResponse.Json(await store.GetSchemaAsync(dataset, cancellationToken));
    }
}
