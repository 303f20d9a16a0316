using Mlops.Core.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Registry;
using Mlops.Registry.Http;

namespace Mlops.Serving;

/// <summary>Request body of the predict endpoint (for the OpenAPI document; the handler reads the body itself).</summary>
/// <param name="Rows">Rows as objects of column → value.</param>
/// <param name="RequestKey">Optional sticky-assignment key (alternative to the <c>x-mlops-request-key</c> header).</param>
public sealed record PredictRequest(List<Dictionary<string, object?>> Rows, string? RequestKey = null);

/// <summary>One prediction in a response: class label with probabilities, or value.</summary>
public sealed record PredictionBody(string? Label = null, Dictionary<string, double>? Probabilities = null, double? Value = null);

/// <summary>Response of the predict endpoint, naming the version that answered.</summary>
public sealed record PredictResponse(string Model, int Version, List<PredictionBody> Predictions);

/// <summary>Serving HTTP API.</summary>
public static class ServingEndpoints
{
    /// <summary>
    /// Maps <c>POST /api/models/{model}/predict[?version=|?alias=]</c>, <c>GET|PUT /api/models/{model}/traffic</c>
    /// and <c>GET /api/serving/stats</c>. Requires <see cref="ServingServiceCollectionExtensions.AddServing"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapServing(this IEndpointRouteBuilder endpoints)
    {
        var handler = endpoints.ServiceProvider.GetRequiredService<PredictHandler>();
        endpoints.MapPost("/api/models/{model}/predict", (HttpContext context, string model) => handler.HandleAsync(context, model))
            .WithTags("Serving").WithName("Predict")
            .WithSummary("Predicts one row or a batch with the routed version (traffic split, sticky key), or ?version= / ?alias=.")
            // "*/*" too: routing enforces Accepts metadata, and clients such as `curl -d` send a form content type;
            // the body is parsed as JSON whatever the header says, so bad JSON still gets a 400 naming the problem.
            .Accepts<PredictRequest>(isOptional: true, "application/json", "*/*")
            .Produces<PredictResponse>()
            .Produces<ErrorBody>(400).Produces<ErrorBody>(404).Produces<ErrorBody>(413).Produces<ErrorBody>(503);

        var g = endpoints.MapGroup("/api").WithTags("Serving").AddEndpointFilter(RegistryEndpoints.ErrorFilter);
        g.MapGet("/models/{model}/traffic", async (string model, ModelRegistry r, CancellationToken ct) =>
            {
                var state = await r.GetStateAsync(model, ct);
                return RegistryEndpoints.Ok(new { model, revision = state.Revision, production = state.Production, routes = state.EffectiveRoutes, shadow = state.Traffic?.Shadow ?? [], autoRollback = state.Traffic?.AutoRollback });
            })
            .WithName("GetTraffic").WithSummary("Effective traffic routes, shadow versions and rollback policy.");
        g.MapPut("/models/{model}/traffic", async (string model, HttpContext http, ModelRegistry r, CancellationToken ct) =>
            {
                var body = await RegistryEndpoints.BodyAsync<TrafficRequest>(http, "traffic");
                var config = new TrafficConfig { Routes = body.Routes ?? [], Shadow = body.Shadow ?? [], AutoRollback = body.AutoRollback };
                return await RegistryEndpoints.Changed(http, model, await r.SetTrafficAsync(model, config, RegistryEndpoints.Ctx(http, body.Reason, body.Actor), ct));
            })
            .WithName("SetTraffic").WithSummary("Sets weights (sum 100), shadow versions and automatic rollback (ETag-guarded, recorded in history).")
            .Accepts<TrafficRequest>("application/json").Produces<HistoryEntry>().Produces<ErrorBody>(400).Produces<ErrorBody>(409);
        g.MapGet("/models/{model}/traffic/live", (string model, string? seconds, ServingRuntime runtime) =>
            {
                int window = RequestQuery.OptionalPositiveInt("seconds", seconds) ?? 300;
                if (window is < 1 or > 3600) throw new ServingException("serving.bad_window", "?seconds= must be between 1 and 3600 (the statistics cover the last hour).", 400);
                return RegistryEndpoints.Ok(new { model, seconds = window, versions = runtime.LiveTraffic(model, window) });
            })
            .WithName("GetLiveTraffic").WithSummary("Per routed or shadow version: weight, request rate, error rate and mean latency over the last ?seconds= (default 300), as this host served them.")
            .Produces<VersionTraffic[]>().Produces<ErrorBody>(400);
        g.MapGet("/serving/stats", (ServingRuntime runtime, PredictionLogger log) =>
                RegistryEndpoints.Ok(new { counters = runtime.Metrics.ToDictionary(), logBacklog = log.Backlog, models = runtime.ServedModels }))
            .WithName("ServingStats").WithSummary("This host's serving counters (requests, bad requests, shadow, log).");
        return endpoints;
    }
}
