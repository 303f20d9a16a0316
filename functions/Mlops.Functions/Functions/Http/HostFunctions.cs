using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Mlops.Functions.Handlers;
using Mlops.Functions.Hosting;

namespace Mlops.Functions.Functions.Http;

/// <summary>The app's own anonymous routes: liveness, and the OpenAPI document generated from the function
/// attributes.</summary>
public sealed class HostFunctions(AppSettings settings)
{
    [Function("Health")]
    public IActionResult Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest req
    ) =>
        ApiResponse.Json(
            new
            {
                status = "ok",
                hostId = settings.HostId,
                time = DateTimeOffset.UtcNow,
            }
        );

    /// <summary>Outside <c>api/</c>, anonymous: it lists routes and key levels, not data.</summary>
    [Function("OpenApiDocument")]
    public IActionResult OpenApi(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi/v1.json")] HttpRequest req
    ) => ApiResponse.Json(OpenApiDocument.Instance.Value);
}
