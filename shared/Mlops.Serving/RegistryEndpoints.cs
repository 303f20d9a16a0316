using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Core;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Registry;
using Mlops.Serving;

namespace Mlops.Registry.Http;

/// <summary>Body of alias and promote requests.</summary>
/// <param name="Version">Target version.</param>
/// <param name="Reason">Why (recorded in history).</param>
/// <param name="Actor">Who (defaults to the <c>x-mlops-actor</c> header, then "api").</param>
/// <param name="Force">Promote even if the gate failed or approval was rejected.</param>
public sealed record VersionChangeRequest(int Version, string? Reason = null, string? Actor = null, bool Force = false);

/// <summary>Body of rollback, archive, approve and reject requests (all optional).</summary>
public sealed record ChangeRequest(string? Reason = null, string? Actor = null);

/// <summary>Body of <c>PUT /api/models/{model}/traffic</c>.</summary>
public sealed record TrafficRequest(List<TrafficRoute>? Routes = null, List<int>? Shadow = null, AutoRollbackPolicy? AutoRollback = null, string? Reason = null, string? Actor = null);

/// <summary>The error body of every 4xx/5xx answer: <c>{"error":{"code","message","details"?}}</c>.</summary>
public sealed record ErrorBody(ErrorInfo Error);

/// <summary>Error details.</summary>
public sealed record ErrorInfo(string Code, string Message, IReadOnlyList<InputError>? Details = null);

/// <summary>HTTP API of the model registry (management; the host's key middleware protects it).</summary>
public static class RegistryEndpoints
{
    /// <summary>Header naming the person or system making a change when the body does not.</summary>
    public const string ActorHeader = "x-mlops-actor";

    /// <summary>
    /// Maps <c>GET /api/models</c>, <c>GET /api/models/{model}</c>, <c>GET /api/models/{model}/versions/{n}</c>,
    /// <c>PUT|POST /api/models/{model}/aliases/{alias}</c>, <c>DELETE /api/models/{model}/aliases/{alias}</c>,
    /// <c>POST /api/models/{model}/promote</c>, <c>POST /api/models/{model}/rollback</c>,
    /// <c>POST /api/models/{model}/versions/{n}/archive</c>, <c>GET /api/models/{model}/compare?a=&amp;b=</c>,
    /// <c>GET /api/models/{model}/history[?at=]</c> and, unless <paramref name="includeApproval"/> is false (the host
    /// routes them to the waiting orchestration itself), <c>POST /api/models/{model}/versions/{n}/approve|reject</c>.
    /// </summary>
    public static RouteGroupBuilder MapRegistry(this IEndpointRouteBuilder endpoints, bool includeApproval = true)
    {
        var g = endpoints.MapGroup("/api/models").WithTags("Registry").AddEndpointFilter(ErrorFilter);

        g.MapGet("", async (ModelRegistry r, CancellationToken ct) => Ok(await r.ListModelsAsync(ct)))
            .WithName("ListModels").WithSummary("All models with latest version and aliases.").Produces<List<ModelSummary>>();
        g.MapGet("/{model}", async (string model, ModelRegistry r, CancellationToken ct) => Ok(await r.GetModelAsync(model, ct)))
            .WithName("GetModel").WithSummary("Versions with metrics, and which alias points where.").Produces<ModelDetails>().Produces<ErrorBody>(404);
        g.MapGet("/{model}/versions/{version:int}", async (string model, int version, ModelRegistry r, CancellationToken ct) =>
            {
                var v = await r.GetVersionAsync(model, version, ct);
                return Ok(new { version = v, lineage = await r.ReadLineageAsync(model, version, ct) });
            })
            .WithName("GetVersion").WithSummary("One version with metrics, gate decision and lineage.").Produces<ModelVersion>().Produces<ErrorBody>(404);
        g.MapGet("/{model}/versions/{version:int}/model.onnx", async (string model, int version, ModelRegistry r, CancellationToken ct) =>
            {
                byte[] file = await r.ReadModelFileAsync(model, version, ct);
                byte[] onnx;
                try { onnx = Mlops.ML.Onnx.OnnxExporter.Export(Mlops.ML.Models.Model.Load(new MemoryStream(file))); }
                catch (Mlops.ML.MlException ex)
                {
                    // e.g. a date/time input (not exportable yet) or an unreadable file: the caller's request cannot be served as asked.
                    throw new MlopsException("onnx." + ex.Code, ex.Message, StatusCodes.Status422UnprocessableEntity);
                }
                return Results.File(onnx, "application/octet-stream", $"{model}-v{version}.onnx");
            })
            .WithName("GetVersionOnnx").WithSummary("The version as an ONNX-ML graph (inputs named as the columns; outputs label and probabilities).")
            .Produces<byte[]>(200, "application/octet-stream").Produces<ErrorBody>(404).Produces<ErrorBody>(422);

        RouteHandlerBuilder alias(RouteHandlerBuilder b) => b.WithSummary("Points an alias at a version (one ETag-guarded write; 409 on a concurrent change).")
            .Produces<HistoryEntry>().Produces<ErrorBody>(400).Produces<ErrorBody>(404).Produces<ErrorBody>(409);
        alias(g.MapPut("/{model}/aliases/{alias}", SetAlias)).WithName("SetAlias");
        alias(g.MapPost("/{model}/aliases/{alias}", SetAlias)).WithName("SetAliasPost");
        g.MapDelete("/{model}/aliases/{alias}", async (string model, string alias, HttpContext http, ModelRegistry r, CancellationToken ct) =>
            {
                var body = await OptionalBodyAsync<ChangeRequest>(http, "remove-alias");
                return await Changed(http, model, await r.RemoveAliasAsync(model, alias, Ctx(http, body?.Reason, body?.Actor), ct));
            })
            .WithName("RemoveAlias").WithSummary("Removes an alias.").Accepts<ChangeRequest>(isOptional: true, "application/json").Produces<HistoryEntry>();
        g.MapPost("/{model}/promote", async (string model, HttpContext http, ModelRegistry r, CancellationToken ct) =>
            {
                var body = await VersionBodyAsync(http, "promote");
                return await Changed(http, model, await r.PromoteAsync(model, body.Version, Ctx(http, body.Reason, body.Actor), body.Force, ct));
            })
            .WithName("Promote").WithSummary("Makes a version production (gate and approval respected unless force).")
            .Accepts<VersionChangeRequest>("application/json").Produces<HistoryEntry>().Produces<ErrorBody>(400).Produces<ErrorBody>(404).Produces<ErrorBody>(409);
        g.MapPost("/{model}/rollback", async (string model, HttpContext http, ModelRegistry r, CancellationToken ct) =>
            {
                var body = await OptionalBodyAsync<ChangeRequest>(http, "rollback");
                return await Changed(http, model, await r.RollbackAsync(model, Ctx(http, body?.Reason, body?.Actor), ct));
            })
            .WithName("Rollback").WithSummary("Returns production to the previous production version and clears traffic splits.")
            .Accepts<ChangeRequest>(isOptional: true, "application/json").Produces<HistoryEntry>().Produces<ErrorBody>(409);
        g.MapPost("/{model}/versions/{version:int}/archive", async (string model, int version, HttpContext http, ModelRegistry r, CancellationToken ct) =>
            {
                var body = await OptionalBodyAsync<ChangeRequest>(http, "archive");
                return Ok(await r.ArchiveAsync(model, version, Ctx(http, body?.Reason, body?.Actor), ct));
            })
            .WithName("Archive").WithSummary("Archives a version not in use.").Accepts<ChangeRequest>(isOptional: true, "application/json")
            .Produces<ModelVersion>().Produces<ErrorBody>(409);
        g.MapGet("/{model}/compare", async (string model, string? a, string? b, ModelRegistry r, CancellationToken ct) =>
                Ok(await r.CompareAsync(model, RequestQuery.PositiveInt("a", a), RequestQuery.PositiveInt("b", b), ct)))
            .WithName("Compare").WithSummary("Two versions' metrics side by side (?a=&b= version numbers).").Produces<VersionComparison>().Produces<ErrorBody>(400);
        g.MapGet("/{model}/history", async (string model, string? at, ModelRegistry r, CancellationToken ct) =>
                at is null ? Ok(await r.GetHistoryAsync(model, null, ct)) : Ok(await r.GetStateAtAsync(model, RequestQuery.Time("at", at)!.Value, ct)))
            .WithName("History").WithSummary("Every alias and traffic change; with ?at= the state in force at that time.")
            .Produces<List<HistoryEntry>>();

        if (includeApproval)
        {
            g.MapPost("/{model}/versions/{version:int}/approve", async (string model, int version, HttpContext http, ModelRegistry r, CancellationToken ct) =>
                    await HandleApprovalAsync(r, http, model, version, approve: true, await OptionalBodyAsync<ChangeRequest>(http, "approve"), ct))
                .WithName("Approve").WithSummary("Records a manual approval on the version.").Accepts<ChangeRequest>(isOptional: true, "application/json").Produces<ModelVersion>();
            g.MapPost("/{model}/versions/{version:int}/reject", async (string model, int version, HttpContext http, ModelRegistry r, CancellationToken ct) =>
                    await HandleApprovalAsync(r, http, model, version, approve: false, await OptionalBodyAsync<ChangeRequest>(http, "reject"), ct))
                .WithName("Reject").WithSummary("Records a manual rejection on the version.").Accepts<ChangeRequest>(isOptional: true, "application/json").Produces<ModelVersion>();
        }
        return g;
    }

    /// <summary>
    /// The approve/reject handler body: stores the decision on the version row (and in history) and returns the version.
    /// The host's own route can call this and then raise the orchestration's external event.
    /// </summary>
    public static async Task<IResult> HandleApprovalAsync(ModelRegistry registry, HttpContext http, string model, int version, bool approve, ChangeRequest? body, CancellationToken cancellationToken = default) =>
        Ok(await registry.SetApprovalAsync(model, version, approve ? ApprovalState.Approved : ApprovalState.Rejected, Ctx(http, body?.Reason, body?.Actor), cancellationToken));

    private static async Task<IResult> SetAlias(string model, string alias, HttpContext http, ModelRegistry r, CancellationToken ct)
    {
        var body = await VersionBodyAsync(http, "alias");
        return await Changed(http, model, await r.SetAliasAsync(model, alias, body.Version, Ctx(http, body.Reason, body.Actor), ct));
    }

    // Bodies are read here, strictly, rather than bound by minimal APIs: a binding failure would be a 400 with an empty
    // body, while RequestJson throws a typed error that names the problem (unknown key, bad number, invalid UTF-8, ...).
    internal static async Task<T> BodyAsync<T>(HttpContext http, string what) where T : class =>
        (await RequestJson.ReadAsync<T>(http.Request.Body, what, cancellationToken: http.RequestAborted))!;

    internal static Task<T?> OptionalBodyAsync<T>(HttpContext http, string what) where T : class =>
        RequestJson.ReadAsync<T>(http.Request.Body, what, optional: true, cancellationToken: http.RequestAborted);

    private static async Task<VersionChangeRequest> VersionBodyAsync(HttpContext http, string what)
    {
        var body = await BodyAsync<VersionChangeRequest>(http, what);
        if (body.Version < 1)
            throw new MlopsException(RequestJson.InvalidBodyCode, $"The {what} body is invalid: \"version\" must be a positive version number, got {body.Version}.");
        return body;
    }

    internal static ChangeContext Ctx(HttpContext http, string? reason, string? actor) =>
        new(reason, actor ?? (http.Request.Headers.TryGetValue(ActorHeader, out var h) && h.Count > 0 ? h[0] : null) ?? "api");

    /// <summary>After a change made through this host, apply it here at once instead of at the next poll.</summary>
    internal static async Task<IResult> Changed(HttpContext http, string model, HistoryEntry entry)
    {
        if (http.RequestServices.GetService<ServingRuntime>() is { } runtime)
        {
            try { await runtime.RefreshAsync(model, http.RequestAborted); }
            catch (Exception) { /* the poll will pick it up */ }
        }
        return Ok(entry);
    }

    internal static IResult Ok<T>(T value) => Results.Json(value, Json.Options);

    /// <summary>
    /// Turns the storage layer's untyped conflicts and outages into typed errors (409, 503) and lets every typed error
    /// through: the host's error middleware is the one place that writes <c>{"error":{code,message}}</c>.
    /// </summary>
    internal static async ValueTask<object?> ErrorFilter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (StorageConflictException e)
        {
            throw new MlopsException("registry.conflict", "A concurrent change won; re-read and retry. " + e.Message, 409, e);
        }
        catch (StorageUnavailableException e)
        {
            throw new MlopsException("storage.unavailable", "Storage is unavailable; retry shortly.", 503, e);
        }
    }
}
