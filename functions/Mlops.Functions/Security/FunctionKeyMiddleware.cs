using Microsoft.AspNetCore.Http;

namespace Mlops.Functions.Security;

/// <summary>
/// Key levels on /api, as the Functions host enforces <c>authLevel</c>: health is anonymous; reads and predictions
/// need a function key (or the master key); every other call — anything that changes state or manages runs — needs
/// the master key. The key goes in <c>x-functions-key</c> or <c>?code=</c>. 401 for a missing or wrong key, 403 for a
/// function key on an admin route. The level is left in <see cref="HttpContext.Items"/> for handlers that record who acted.
/// </summary>
public sealed class FunctionKeyMiddleware(RequestDelegate next, FunctionKeys keys)
{
    public const string CallerItem = "mlops.caller";
    private static readonly string[] Anonymous = ["/api/health"];

    /// <summary>The route table's rule for the admin level: every write except predictions and ground-truth feedback.</summary>
    public static KeyLevel Required(string method, PathString path)
    {
        if (!path.StartsWithSegments("/api") || Anonymous.Any(a => path.Equals(a, StringComparison.OrdinalIgnoreCase))) return KeyLevel.None;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method)) return KeyLevel.Function;
        string last = path.Value!.TrimEnd('/').Split('/')[^1];
        return HttpMethods.IsPost(method) && last is "predict" or "feedback" ? KeyLevel.Function : KeyLevel.Admin;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var required = Required(context.Request.Method, context.Request.Path);
        if (required == KeyLevel.None) return next(context);
        string? presented = context.Request.Headers["x-functions-key"].FirstOrDefault() ?? context.Request.Query["code"].FirstOrDefault();
        var level = keys.LevelOf(presented);
        if (level >= required)
        {
            context.Items[CallerItem] = level == KeyLevel.Admin ? "master-key" : "function-key";
            return next(context);
        }
        (int status, string code, string message) = level switch
        {
            KeyLevel.Function => (403, "auth.admin_key_required", "This route changes state: it needs the master (admin) key, not a function key."),
            _ when presented is null => (401, "auth.missing_key", "Missing function key: send it in the x-functions-key header or the ?code= query parameter."),
            _ => (401, "auth.invalid_key", "Invalid function key."),
        };
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = new { code, message } });
    }
}
