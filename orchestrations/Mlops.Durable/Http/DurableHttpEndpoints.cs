using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.WindowsAzure.Storage;
using Mlops.Core;
using Mlops.Core.Errors;

namespace Mlops.Durable;

/// <summary>
/// HTTP management API for orchestration instances. Authentication (function keys) is the host middleware's job;
/// these routes only translate HTTP to <see cref="DurableClient"/> calls. Bad input yields 4xx with
/// <c>{"error": "..."}</c>; storage outages yield 503; never a 500 for user input.
/// </summary>
public static class DurableHttpEndpoints
{
    /// <summary>
    /// Maps: <c>POST {prefix}/{name}[?instanceId=]</c> start (202 + Location); <c>GET {prefix}/{id}[?history=true]</c>
    /// status (200 finished, 202 running, 404 unknown); <c>GET {prefix}?status=Running,Failed&amp;from=&amp;to=&amp;name=&amp;idPrefix=&amp;top=</c>
    /// query; <c>POST {prefix}/{id}/events/{eventName}</c>; <c>POST {prefix}/{id}/terminate|suspend|resume[?reason=]</c>;
    /// <c>POST {prefix}/{id}/restart[?newInstanceId=true]</c>; <c>DELETE {prefix}/{id}</c> purge.
    /// </summary>
    /// <param name="endpoints">Route builder.</param>
    /// <param name="prefix">Route prefix.</param>
    /// <param name="client">Client to use; default resolves <see cref="DurableClient"/> from request services.</param>
    public static IEndpointRouteBuilder MapDurableManagement(this IEndpointRouteBuilder endpoints, string prefix = "/api/orchestrations", DurableClient? client = null)
    {
        prefix = "/" + prefix.Trim('/');
        DurableClient Client(HttpContext http) => client ?? http.RequestServices.GetRequiredService<DurableClient>();
        string StatusUrl(HttpContext http, string id) => $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{prefix}/{Uri.EscapeDataString(id)}";

        endpoints.MapPost(prefix + "/{name}", (HttpContext http, string name, string? instanceId) => Guard(async () =>
        {
            string? input = await ReadJsonAsync(http);
            string id = await Client(http).StartRawAsync(name, input, instanceId, http.RequestAborted);
            return Accepted(StatusUrl(http, id), new { id, statusQueryGetUri = StatusUrl(http, id) });
        }));

        endpoints.MapGet(prefix + "/{id}", (HttpContext http, string id, bool? history) => Guard(async () =>
        {
            var status = await Client(http).GetStatusAsync(id, history ?? false, http.RequestAborted);
            if (status is null) return Error(404, $"Instance '{id}' does not exist.");
            return Results.Json(status, Json.Options, statusCode: status.IsTerminal ? 200 : 202);
        }));

        endpoints.MapGet(prefix, (HttpContext http, string? status, DateTime? from, DateTime? to, string? name, string? idPrefix, int? top) => Guard(async () =>
        {
            var statuses = new List<OrchestrationRuntimeStatus>();
            foreach (string s in (status ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Enum.TryParse<OrchestrationRuntimeStatus>(s, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                    return Error(400, $"Unknown status '{s}'. Use one of: {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
                statuses.Add(parsed);
            }
            var query = new OrchestrationQuery
            {
                Statuses = statuses.Count > 0 ? statuses : null, CreatedFrom = from, CreatedTo = to, NamePrefix = name, InstanceIdPrefix = idPrefix, Top = top ?? 100,
            };
            var list = await Client(http).QueryAsync(query, http.RequestAborted);
            return Results.Json(new { instances = list, count = list.Count }, Json.Options);
        }));

        endpoints.MapPost(prefix + "/{id}/events/{eventName}", (HttpContext http, string id, string eventName) => Guard(async () =>
        {
            string? body = await ReadJsonAsync(http);
            object? data = body is null ? null : JsonSerializer.Deserialize<JsonElement>(body);
            await Client(http).RaiseEventAsync(id, eventName, data, http.RequestAborted);
            return Accepted(StatusUrl(http, id), new { id, eventName });
        }));

        endpoints.MapPost(prefix + "/{id}/{operation}", (HttpContext http, string id, string operation, string? reason, bool? newInstanceId) => Guard(async () =>
        {
            var c = Client(http);
            switch (operation.ToLowerInvariant())
            {
                case "terminate": await c.TerminateAsync(id, reason, http.RequestAborted); break;
                case "suspend": await c.SuspendAsync(id, reason, http.RequestAborted); break;
                case "resume": await c.ResumeAsync(id, reason, http.RequestAborted); break;
                case "restart":
                    string newId = await c.RestartAsync(id, newInstanceId ?? false, http.RequestAborted);
                    return Accepted(StatusUrl(http, newId), new { id = newId });
                default: return Error(404, $"Unknown operation '{operation}'. Use terminate, suspend, resume, restart or events/{{name}}.");
            }
            return Accepted(StatusUrl(http, id), new { id, operation = operation.ToLowerInvariant() });
        }));

        endpoints.MapDelete(prefix + "/{id}", (HttpContext http, string id) => Guard(async () =>
        {
            bool purged = await Client(http).PurgeAsync(id, http.RequestAborted);
            return purged ? Results.Json(new { id, purged }, Json.Options) : Error(404, $"Instance '{id}' does not exist.");
        }));

        return endpoints;
    }

    private static IResult Accepted(string location, object body) => new LocationResult(location, Results.Json(body, Json.Options, statusCode: 202));

    /// <summary>Same shape as the host's other endpoints: <c>{"error": {"code", "message"}}</c>.</summary>
    private static IResult Error(int status, string message) => Results.Json(new
    {
        error = new
        {
            code = status switch { 404 => "orchestration.not_found", 409 => "orchestration.conflict", 503 => "storage.unavailable", >= 500 => "internal", _ => "orchestration.bad_request" },
            message,
        },
    }, Json.Options, statusCode: status);

    /// <summary>Reads the body as JSON text (null when empty); malformed JSON becomes a 400.</summary>
    private static async Task<string?> ReadJsonAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        string body = await reader.ReadToEndAsync(http.RequestAborted);
        if (string.IsNullOrWhiteSpace(body)) return null;
        try { using var _ = JsonDocument.Parse(body); }
        catch (JsonException e) { throw new ArgumentException($"Request body is not valid JSON: {e.Message}"); }
        return body;
    }

    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try { return await action(); }
        catch (NotFoundException e) { return Error(404, e.Message); }
        catch (MlopsException e) { return Error(e.Status, e.Message); }
        catch (OrchestrationStateException e) { return Error(409, e.Message); }
        catch (ArgumentException e) { return Error(400, e.Message); }
        catch (StorageException e) { return Error(503, "Storage is unavailable: " + e.Message); }
        catch (TimeoutException e) { return Error(503, e.Message); }
    }

    private sealed class LocationResult(string location, IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
