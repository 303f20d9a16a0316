using System.Text.Json;
using Microsoft.AspNetCore.Routing.Constraints;
using Mlops.Host.Worker;

namespace Mlops.Host.Http;

/// <summary>
/// The host's HTTP route table, built as the Functions host builds it, so the local host answers every request with
/// the function Azure would pick:
/// <list type="bullet">
/// <item>functions in name order, case-insensitive (azure-functions-host v4.1037, commit 89dc438:
/// FunctionMetadataManager orders by name; WebScriptHostHttpRoutesManager maps them in that order);</item>
/// <item>one legacy ASP.NET <see cref="Route"/> per function: template <c>{routePrefix}/{route}</c> (the function's
/// name when the route is empty), inline constraints resolved by ASP.NET's <c>IInlineConstraintResolver</c>, and an
/// <see cref="HttpMethodRouteConstraint"/> named "httpMethod" when methods are listed (azure-webjobs-sdk-extensions
/// commit 2e7550f, WebJobsRouteBuilder.MapFunctionRoute);</item>
/// <item>a <see cref="RouteCollection"/> tried in that order: the first route that matches wins, however specific a
/// later one is (WebJobsRouteBuilder.Build adds them without sorting; host issue #9876).</item>
/// </list>
/// </summary>
public sealed class HttpRouteTable
{
    private const string FunctionToken = "MS_AzureWebJobs_FunctionName";
    private readonly RouteCollection _routes = new();
    private readonly Dictionary<string, HttpFunction> _byName = new(StringComparer.OrdinalIgnoreCase);

    public HttpRouteTable(
        IEnumerable<HostedFunction> functions,
        string routePrefix,
        IInlineConstraintResolver constraintResolver
    )
    {
        var target = new SelectFunction();
        foreach (var function in functions.OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase))
        {
            if (!function.TriggerType.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase))
                continue;
            var trigger = function.TriggerJson;
            string route =
                trigger.TryGetProperty("route", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
            if (string.IsNullOrEmpty(route))
                route = function.Name;
            string[] methods =
                trigger.TryGetProperty("methods", out var m) && m.ValueKind == JsonValueKind.Array
                    ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).ToArray()
                    : [];
            var level = ParseLevel(trigger.TryGetProperty("authLevel", out var a) ? a.GetString() : null);
            string template = string.IsNullOrEmpty(routePrefix) ? route : routePrefix + "/" + route;
            var constraints = new Dictionary<string, object>();
            if (methods.Length > 0)
                constraints.Add("httpMethod", new HttpMethodRouteConstraint(methods));
            var tokens = new RouteValueDictionary { { FunctionToken, function.Name } };
            _routes.Add(
                new Route(
                    target,
                    function.Name,
                    template,
                    new RouteValueDictionary(),
                    constraints,
                    tokens,
                    constraintResolver
                )
            );
            var http = new HttpFunction(function, template, methods, level);
            _byName[function.Name] = http;
            HttpFunctions.Add(http);
        }
    }

    /// <summary>The HTTP functions in route-table order.</summary>
    public List<HttpFunction> HttpFunctions { get; } = [];

    /// <summary>The function the host would pick for this request, with its route values; null when none matches
    /// (404).</summary>
    public async ValueTask<(HttpFunction Function, RouteValueDictionary Values)?> MatchAsync(HttpContext context)
    {
        var routeContext = new RouteContext(context);
        await _routes.RouteAsync(routeContext);
        if (routeContext.Handler is null)
            return null;
        string name = (string)routeContext.RouteData.DataTokens[FunctionToken]!;
        return (_byName[name], routeContext.RouteData.Values);
    }

    private static AuthLevel ParseLevel(string? value) =>
        value?.ToLowerInvariant() switch
        {
            "anonymous" => AuthLevel.Anonymous,
            "admin" => AuthLevel.Admin,
            "system" => AuthLevel.System,
            "user" => AuthLevel.User,
            _ => AuthLevel.Function, // the attribute's default
        };

    /// <summary>The route's target: marks the request as handled so the collection stops at the first match.</summary>
    private sealed class SelectFunction : IRouter
    {
        private static readonly RequestDelegate Selected = _ => Task.CompletedTask;

        public VirtualPathData? GetVirtualPath(VirtualPathContext context) => null;

        public Task RouteAsync(RouteContext context)
        {
            context.Handler = Selected;
            return Task.CompletedTask;
        }
    }
}

/// <summary>The Functions authorization levels (WebJobs' AuthorizationLevel).</summary>
public enum AuthLevel
{
    Anonymous = 0,
    User = 1,
    Function = 2,
    System = 3,
    Admin = 4,
}

/// <summary>An HTTP-triggered function in the route table.</summary>
public sealed record HttpFunction(HostedFunction Function, string Template, string[] Methods, AuthLevel Level);
