using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Mlops.Functions.Handlers;
using Mlops.Serving;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// Serving over HTTP: predictions (function key), the traffic split (read: function key; change: master key), live
/// traffic and serving counters of this worker.
/// </summary>
public sealed class ServingFunctions(PredictHandler predict, ModelHandler models, ServingHandler serving)
{
    /// <summary>
    /// The hot path: the handler reads the body within its limit, answers and logs straight on the worker's own
    /// response (ASP.NET Core integration); the function's result is empty (declared as a result all the same, so the
    /// build gives the function its HTTP output binding like every other HTTP function).
    /// </summary>
    [Function("Predict")]
    public async Task<IActionResult> Predict(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/models/{model}/predict")] HttpRequest req,
        string model
    )
    {
        await predict.HandleAsync(req.HttpContext, model);
        return new EmptyResult();
    }

    [Function("GetTraffic")]
    public async Task<IActionResult> GetTraffic(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/traffic")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) => await models.GetTrafficAsync(model, cancellationToken);

    [Function("SetTraffic")]
    public async Task<IActionResult> SetTraffic(
        [HttpTrigger(AuthorizationLevel.Admin, "put", Route = "api/models/{model}/traffic")] HttpRequest req,
        string model,
        CancellationToken cancellationToken
    ) =>
        await models.SetTrafficAsync(
            model,
            req.Body,
            req.Headers[ModelHandler.ActorHeader].FirstOrDefault(),
            cancellationToken
        );

    [Function("GetLiveTraffic")]
    public IActionResult GetLiveTraffic(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/models/{model}/traffic/live")] HttpRequest req,
        string model
    ) => serving.LiveTraffic(model, req.Query["seconds"].FirstOrDefault());

    [Function("ServingStats")]
    public IActionResult ServingStats(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/serving/stats")] HttpRequest req
    ) => serving.Stats();
}
