using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Mlops.Core.Errors;

namespace Mlops.Testing;

/// <summary>
/// Stands in for the host's error middleware in library test hosts: a typed <see cref="MlopsException"/> becomes its
/// status and <c>{"error":{code,message}}</c>; anything else is left to fail as a 500, so a test sees it.
/// </summary>
public static class ErrorBodies
{
    /// <summary>Adds the middleware; <paramref name="seen"/> (optional) receives every typed error it writes.</summary>
    public static IApplicationBuilder UseErrorBodies(this IApplicationBuilder app, Action<MlopsException>? seen = null) =>
        app.Use(async (context, next) =>
        {
            try { await next(context); }
            catch (MlopsException e) when (!context.Response.HasStarted)
            {
                seen?.Invoke(e);
                context.Response.StatusCode = e.Status;
                await context.Response.WriteAsJsonAsync(new { error = new { code = e.Code, message = e.Message } });
            }
        });
}
