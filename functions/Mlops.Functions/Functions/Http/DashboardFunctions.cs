using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Mlops.Functions.Handlers;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// The dashboard's files at <c>/</c>, anonymous: they hold no data (every data call the page makes sends the key).
/// The Functions host tries routes in function-name order and takes the first match, so the catch-all (1) refuses
/// anything under <c>api/</c> with a route constraint — an unknown API path is the host's 404, never a page — and (2)
/// is named to sort after every other function, so no other route can lose to it.
/// </summary>
public sealed class DashboardFunctions
{
    /// <summary>The function's name: sorts last (a test checks it against every function of the build).</summary>
    public const string Name = "ZzDashboard";

    /// <summary>
    /// Everything not under <c>api/</c> (case-insensitive, as the host's regex constraint is). The default value makes
    /// <c>/</c> match: the host's route table (ASP.NET's legacy <c>Route</c>) fails a regex constraint on a missing
    /// value.
    /// </summary>
    public const string Route = "{*path:regex(^(?!api(/|$)))=index.html}";

    /// <summary>Writes the file straight to the response; the result is empty.</summary>
    [Function(Name)]
    public async Task<IActionResult> Dashboard(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Route)] HttpRequest req,
        string? path
    )
    {
        await DashboardFiles.ServeAsync(req.HttpContext, path);
        return new EmptyResult();
    }
}
