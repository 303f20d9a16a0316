using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Host.Http;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>The route table on its own: prefixes, default routes, method constraints and name order, without a
/// worker.</summary>
public sealed class HttpRouteTableTests
{
    private static readonly IInlineConstraintResolver Resolver = new ServiceCollection()
        .AddRouting()
        .BuildServiceProvider()
        .GetRequiredService<IInlineConstraintResolver>();

    private static HostedFunction Http(string name, string? route, params string[] methods)
    {
        var metadata = new RpcFunctionMetadata { Name = name, FunctionId = name };
        metadata.Bindings["req"] = new BindingInfo { Type = "httpTrigger" };
        string routeJson = route is null ? "" : $",\"route\":\"{route}\"";
        string methodsJson =
            methods.Length == 0 ? "" : ",\"methods\":[" + string.Join(",", methods.Select(m => $"\"{m}\"")) + "]";
        metadata.RawBindings.Add(
            $"{{\"name\":\"req\",\"type\":\"httpTrigger\",\"direction\":\"In\",\"authLevel\":\"Function\"{routeJson}{methodsJson}}}"
        );
        return new HostedFunction(name, name, metadata);
    }

    private static async Task<string?> Match(HttpRouteTable table, string method, string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.RequestServices = new ServiceCollection().AddRouting().AddLogging().BuildServiceProvider();
        return (await table.MatchAsync(context))?.Function.Function.Name;
    }

    [Fact]
    public async Task MatchAsync_EmptyRouteAndPrefix_UsesTheFunctionNameUnderThePrefix()
    {
        var api = new HttpRouteTable([Http("Ping", null)], "api", Resolver);
        var root = new HttpRouteTable([Http("Ping", null)], "", Resolver);

        Assert.Equal("Ping", await Match(api, "GET", "/api/Ping"));
        Assert.Null(await Match(api, "GET", "/Ping"));
        Assert.Equal("Ping", await Match(root, "GET", "/ping"));
        Assert.Equal(AuthLevel.Function, api.HttpFunctions.Single().Level);
    }

    [Fact]
    public async Task MatchAsync_SameRouteDifferentMethods_PicksByMethodAndListsNoneAsAll()
    {
        var table = new HttpRouteTable(
            [Http("Write", "things", "post"), Http("Read", "things", "get"), Http("Any", "any")],
            "api",
            Resolver
        );

        Assert.Equal("Read", await Match(table, "GET", "/api/things"));
        Assert.Equal("Write", await Match(table, "POST", "/api/things"));
        Assert.Null(await Match(table, "DELETE", "/api/things"));
        Assert.Equal("Any", await Match(table, "PATCH", "/api/any"));
    }

    [Fact]
    public async Task MatchAsync_ParameterRouteSortingBeforeALiteralOne_WinsLikeTheHost()
    {
        // "ById" sorts before "Latest": under the host's table {id} takes "latest" too (no specificity ordering).
        var table = new HttpRouteTable([Http("Latest", "runs/latest"), Http("ById", "runs/{id}")], "api", Resolver);

        Assert.Equal(["ById", "Latest"], table.HttpFunctions.Select(f => f.Function.Name));
        Assert.Equal("ById", await Match(table, "GET", "/api/runs/latest"));
    }
}
