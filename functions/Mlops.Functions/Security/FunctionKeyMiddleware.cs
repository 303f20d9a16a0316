using Microsoft.AspNetCore.Http;

namespace Mlops.Functions.Security;

/// <summary>
/// Requires the function key (<c>x-functions-key</c> header or <c>?code=</c>) on every /api route except the anonymous
/// ones, as the Functions host does for <c>authLevel: function</c>. Answers 401 with a JSON error otherwise.
/// </summary>
public sealed class FunctionKeyMiddleware(RequestDelegate next, FunctionKeys keys)
{
    private static readonly string[] Anonymous = ["/api/health"];

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments("/api") || Anonymous.Any(a => path.Equals(a, StringComparison.OrdinalIgnoreCase)))
            return next(context);
        string? presented = context.Request.Headers["x-functions-key"].FirstOrDefault() ?? context.Request.Query["code"].FirstOrDefault();
        if (keys.Matches(presented)) return next(context);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return context.Response.WriteAsJsonAsync(new
        {
            error = presented is null
                ? new { code = "auth.missing_key", message = "Missing function key: send it in the x-functions-key header or the ?code= query parameter." }
                : new { code = "auth.invalid_key", message = "Invalid function key." },
        });
    }
}
