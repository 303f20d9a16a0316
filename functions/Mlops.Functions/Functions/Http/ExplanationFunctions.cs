using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Mlops.Functions.Handlers;

namespace Mlops.Functions.Functions.Http;

/// <summary>
/// Explanations over a sample of served rows (the dashboard's beeswarm and logged-prediction picker). A read: function
/// key.
/// </summary>
public sealed class ExplanationFunctions(ExplanationHandler handler)
{
    [Function("GetModelVersionExplanations")]
    public async Task<IActionResult> GetModelVersionExplanations(
        [HttpTrigger(
            AuthorizationLevel.Function,
            "get",
            Route = "api/models/{model}/versions/{version:int}/explanations"
        )]
            HttpRequest req,
        string model,
        int version,
        CancellationToken cancellationToken
    ) =>
        await handler.GetSampleAsync(
            model,
            version,
            req.Query["sample"].FirstOrDefault(),
            req.Query["hours"].FirstOrDefault(),
            cancellationToken
        );
}
