using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using Mlops.Core;
using Mlops.Data.Schema;
using Mlops.Data.Versions;

namespace Mlops.Data.Http;

/// <summary>
/// Read-only dataset API plus schema editing, as minimal-API routes. Needs a <see cref="DatasetStore"/> in DI.
/// <list type="bullet">
/// <item><c>GET /api/datasets/{dataset}</c> — versions, newest first.</item>
/// <item><c>GET /api/datasets/{dataset}/versions/{hash}</c> — index row, profile and validation report.</item>
/// <item><c>GET /api/datasets/{dataset}/schema</c> — the schema document (404 before the first usable version).</item>
/// <item><c>PUT /api/datasets/{dataset}/schema</c> — replace the schema (validated; 400 with a message when invalid).</item>
/// </list>
/// <see cref="DataException"/>s become problem responses with their status and code.
/// </summary>
public static class DatasetEndpoints
{
    /// <summary>Maps the routes under <c>/api/datasets</c> and returns the group (to add auth filters, e.g. function keys).</summary>
    public static RouteGroupBuilder MapDatasets(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var g = endpoints.MapGroup("/api/datasets");

        g.MapGet("/{dataset}", (string dataset, DatasetStore store, CancellationToken ct) =>
            Guard(async () => Ok(await store.ListVersionsAsync(dataset, ct))));

        g.MapGet("/{dataset}/versions/{hash}", (string dataset, string hash, DatasetStore store, CancellationToken ct) =>
            Guard(async () => await store.GetVersionDetailsAsync(dataset, hash, ct) is { } d
                ? Ok(d)
                : Problem(404, "data.version_not_found", $"Dataset '{dataset}' has no version {hash}.")));

        g.MapGet("/{dataset}/schema", (string dataset, DatasetStore store, CancellationToken ct) =>
            Guard(async () => await store.GetSchemaAsync(dataset, ct) is { } s
                ? Ok(s)
                : Problem(404, "data.schema_not_found", $"Dataset '{dataset}' has no schema yet (it is inferred from the first accepted version).")));

        g.MapPut("/{dataset}/schema", (string dataset, HttpRequest request, DatasetStore store, CancellationToken ct) =>
            Guard(async () =>
            {
                DatasetSchema? schema;
                try { schema = await JsonSerializer.DeserializeAsync<DatasetSchema>(request.Body, Json.Options, ct); }
                catch (JsonException ex) { return Problem(400, "data.schema", $"The schema is not valid JSON: {ex.Message}"); }
                if (schema is null) return Problem(400, "data.schema", "The request body must be a schema document.");
                await store.SaveSchemaAsync(dataset, schema, ct);
                return Ok(await store.GetSchemaAsync(dataset, ct));
            }));
        return g;
    }

    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try { return await action(); }
        catch (DataException ex) { return Problem(ex.Status, ex.Code, ex.Message); }
    }

    // The project's JSON conventions (camelCase, enums as strings) regardless of how the host configured its defaults.
    private static IResult Ok<T>(T value) => Results.Json(value, Json.Options);

    private static IResult Problem(int status, string code, string message) =>
        Results.Problem(detail: message, statusCode: status, title: code, extensions: new Dictionary<string, object?> { ["code"] = code });
}
