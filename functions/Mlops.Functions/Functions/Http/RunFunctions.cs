using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Mlops.Functions.Handlers;
using Mlops.Tracking;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// Experiment tracking over HTTP (function key; reindexing: master key). <c>runs/compare</c> and <c>runs/groups</c>
/// are literal siblings of <c>runs/{runId}</c>: the Functions host tries routes in function-name order and takes the
/// first match, so <see cref="GetRunRoute"/> carries a constraint that refuses those two words.
/// </summary>
public sealed class RunFunctions(RunHandler handler)
{
    /// <summary><c>runs/{runId}</c>, except the literal siblings (a run cannot be named <c>compare</c> or
    /// <c>groups</c>).</summary>
    public const string GetRunRoute = "api/runs/{runId:regex(^(?!(compare|groups)$))}";

    [Function("ListRuns")]
    [Returns(typeof(RunList))]
    public async Task<IActionResult> ListRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs")] HttpRequest req,
        CancellationToken cancellationToken
    )
    {
        var q = req.Query;
        return await handler.ListAsync(
            q["filter"],
            q["dataset"],
            q["pipeline"],
            q["status"],
            q["orderBy"],
            q["limit"],
            q["offset"],
            cancellationToken
        );
    }

    [Function("CompareRuns")]
    [Returns(typeof(RunComparison))]
    public async Task<IActionResult> CompareRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs/compare")] HttpRequest req,
        CancellationToken cancellationToken
    ) => await handler.CompareAsync(req.Query["ids"], req.Query["step"], cancellationToken);

    [Function("GroupRuns")]
    [Returns(typeof(RunGroups))]
    public async Task<IActionResult> GroupRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs/groups")] HttpRequest req,
        CancellationToken cancellationToken
    ) => await handler.GroupAsync(req.Query["by"], req.Query["filter"], req.Query["dataset"], cancellationToken);

    [Function("GetRun")]
    [Returns(typeof(RunDetail))]
    public async Task<IActionResult> GetRun(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = GetRunRoute)] HttpRequest req,
        string runId,
        CancellationToken cancellationToken
    ) => await handler.GetAsync(runId, cancellationToken);

    [Function("ReindexRuns")]
    public async Task<IActionResult> ReindexRuns(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "api/runs/reindex")] HttpRequest req,
        CancellationToken cancellationToken
    ) => await handler.ReindexAsync(cancellationToken);

    [Function("GetSweep")]
    [Returns(typeof(SweepView))]
    public async Task<IActionResult> GetSweep(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/sweeps/{pipelineId}")] HttpRequest req,
        string pipelineId,
        CancellationToken cancellationToken
    ) => await handler.GetSweepAsync(pipelineId, cancellationToken);
}
