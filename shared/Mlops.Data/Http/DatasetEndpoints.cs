using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Data.Schema;
using Mlops.Data.Versions;

namespace Mlops.Data.Http;

/// <summary>
/// Read-only dataset API plus schema editing, as minimal-API routes. Needs a <see cref="DatasetStore"/> in DI.
/// <list type="bullet">
/// <item><c>GET /api/datasets</c> — every dataset: versions, newest version, quarantined count.</item>
/// <item><c>GET /api/datasets/{dataset}</c> — versions, newest first.</item>
/// <item><c>GET /api/datasets/{dataset}/versions/{hash}</c> — index row, profile and validation report.</item>
/// <item><c>GET /api/datasets/{dataset}/schema</c> — the schema document (404 before the first usable version).</item>
/// <item><c>PUT /api/datasets/{dataset}/schema</c> — replace the schema (strictly read and validated; 400 naming the problem).</item>
/// </list>
/// Bad input is thrown as a typed <see cref="MlopsException"/> (dataset names as <see cref="Mlops.Core.Naming.DatasetName"/>
/// errors, the rest as <see cref="DataException"/>); the host's error middleware writes <c>{"error":{code,message}}</c>.
/// </summary>
public static class DatasetEndpoints
{
    /// <summary>Largest schema document accepted by <c>PUT /schema</c>.</summary>
    public const int MaxSchemaBytes = 1024 * 1024;

    /// <summary>Maps the routes under <c>/api/datasets</c> and returns the group (to add auth filters, e.g. function keys).</summary>
    public static RouteGroupBuilder MapDatasets(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var g = endpoints.MapGroup("/api/datasets");

        g.MapGet("", async (DatasetStore store, CancellationToken ct) => Ok(await store.ListDatasetsAsync(ct)));

        g.MapGet("/{dataset}", async (string dataset, DatasetStore store, CancellationToken ct) =>
            Ok(await store.ListVersionsAsync(dataset, ct)));

        g.MapGet("/{dataset}/versions/{hash}", async (string dataset, string hash, DatasetStore store, CancellationToken ct) =>
            Ok(await store.GetVersionDetailsAsync(dataset, hash, ct)
               ?? throw new DataException("data.version_not_found", $"Dataset '{dataset}' has no version {hash}.", 404)));

        g.MapGet("/{dataset}/schema", async (string dataset, DatasetStore store, CancellationToken ct) =>
            Ok(await store.GetSchemaAsync(dataset, ct)
               ?? throw new DataException("data.schema_not_found", $"Dataset '{dataset}' has no schema yet (it is inferred from the first accepted version).", 404)));

        g.MapPut("/{dataset}/schema", async (string dataset, HttpRequest request, DatasetStore store, CancellationToken ct) =>
        {
            DatasetStore.ValidateDatasetName(dataset);
            var schema = (await RequestJson.ReadAsync<DatasetSchema>(request.Body, "schema", maxBytes: MaxSchemaBytes, cancellationToken: ct))!;
            await store.SaveSchemaAsync(dataset, schema, ct);
            return Ok(await store.GetSchemaAsync(dataset, ct));
        });
        return g;
    }

    // The project's JSON conventions (camelCase, enums as strings) regardless of how the host configured its defaults.
    private static IResult Ok<T>(T value) => Results.Json(value, Json.Options);
}
