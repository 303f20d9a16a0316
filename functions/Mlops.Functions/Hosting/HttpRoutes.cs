using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.DurableTask.Client;

namespace Mlops.Functions.Hosting;

/// <summary>
/// The app's HTTP routes (<see cref="AppServices.MapRoutes"/>) as a table the HTTP functions call into under the Azure
/// Functions host: an HTTP function names its route; the route's handler runs on the function's own HttpContext (ASP.NET
/// Core integration), with the invocation's durable client. The local runner maps the same table on Kestrel, so both
/// places run one set of handlers with one set of routes.
/// </summary>
public sealed class HttpRoutes
{
    private readonly Dictionary<string, (RouteEndpoint Endpoint, TemplateMatcher Matcher)> _routes = new(StringComparer.OrdinalIgnoreCase);
    private readonly IServiceProvider _services;

    public HttpRoutes(IServiceProvider services)
    {
        _services = services;
        var catalog = new Catalog(services);
        AppServices.MapRoutes(catalog);
        foreach (var endpoint in catalog.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>())
        {
            string pattern = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            foreach (string method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                _routes[Key(method, pattern)] = (endpoint, new TemplateMatcher(TemplateParser.Parse(pattern.TrimStart('/')), new RouteValueDictionary()));
        }
    }

    /// <summary>The routes, as "METHOD /pattern" keys (tests compare them with the function metadata).</summary>
    public IReadOnlyCollection<string> Keys => _routes.Keys;

    public async Task<IActionResult> InvokeAsync(HttpRequest request, DurableTaskClient client, string method, string pattern)
    {
        if (!_routes.TryGetValue(Key(method, pattern), out var route)) throw new InvalidOperationException($"No route {method} {pattern} in the route table.");
        var context = request.HttpContext;
        var values = new RouteValueDictionary();
        route.Matcher.TryMatch(context.Request.Path, values);
        foreach (var (k, v) in values) context.Request.RouteValues[k] = v;
        var original = context.RequestServices;
        context.RequestServices = new DurableServices(client, _services).Over(original);
        try { await route.Endpoint.RequestDelegate!(context); }
        finally { context.RequestServices = original; }
        return new EmptyResult(); // the handler wrote the response
    }

    private static string Key(string method, string pattern) => method.ToUpperInvariant() + " " + pattern.TrimEnd('/');

    /// <summary>Collects endpoints without a web host: what <c>MapGet</c> and friends add lands in <see cref="DataSources"/>.</summary>
    private sealed class Catalog(IServiceProvider services) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider { get; } = services;
        public ICollection<EndpointDataSource> DataSources { get; } = new List<EndpointDataSource>();
        public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(ServiceProvider);
    }
}
