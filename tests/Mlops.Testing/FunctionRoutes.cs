using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Mlops.Testing;

/// <summary>
/// Serves function classes' HTTP functions on an in-process ASP.NET Core app, for handler and library tests that need
/// HTTP but not a Functions host: each <c>[Function]</c> method with an <c>[HttpTrigger]</c> parameter is mapped on its
/// declared route and methods (attributes found by name, so this needs no reference to the function app); parameters
/// are bound as the worker binds them — the <c>HttpRequest</c>, route values by name, the <c>CancellationToken</c>, and
/// anything else from the test's services (a <c>[DurableClient]</c> included). Exceptions go through
/// the <c>map</c> passed to <see cref="MapFunctions"/>, the app's error mapping, as its worker middleware would. Key
/// levels are the host's business and are not checked here: the end-to-end tests run the real worker under the local
/// host for that.
/// </summary>
public static class FunctionRoutes
{
    /// <summary>Maps the HTTP functions of <paramref name="types"/>.</summary>
    /// <param name="app">The test app.</param>
    /// <param name="map">Exception → status and error body (the app's own mapping).</param>
    /// <param name="jsonOptions">How error bodies are written.</param>
    /// <param name="types">Function classes to serve.</param>
    public static void MapFunctions(
        this WebApplication app,
        Func<Exception, (int Status, object Body)> map,
        JsonSerializerOptions jsonOptions,
        params Type[] types
    )
    {
        ArgumentNullException.ThrowIfNull(app);
        foreach (var type in types)
        foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
        {
            var trigger = method
                .GetParameters()
                .Select(p => p.GetCustomAttributes().FirstOrDefault(a => a.GetType().Name == "HttpTriggerAttribute"))
                .FirstOrDefault(a => a is not null);
            if (trigger is null || !method.GetCustomAttributes().Any(a => a.GetType().Name == "FunctionAttribute"))
                continue;
            string route = (string)trigger.GetType().GetProperty("Route")!.GetValue(trigger)!;
            var verbs = ((string[]?)trigger.GetType().GetProperty("Methods")!.GetValue(trigger) ?? ["get"])
                .Select(v => v.ToUpperInvariant())
                .ToArray();
            app.MapMethods("/" + route, verbs, context => InvokeAsync(context, type, method, map, jsonOptions));
        }
    }

    private static async Task InvokeAsync(
        HttpContext context,
        Type type,
        MethodInfo method,
        Func<Exception, (int Status, object Body)> map,
        JsonSerializerOptions jsonOptions
    )
    {
        try
        {
            var instance = ActivatorUtilities.GetServiceOrCreateInstance(context.RequestServices, type);
            var arguments = method.GetParameters().Select(p => Bind(context, p)).ToArray();
            object? returned = method.Invoke(instance, arguments);
            if (returned is Task task)
            {
                await task;
                returned = task.GetType().IsGenericType ? task.GetType().GetProperty("Result")!.GetValue(task) : null;
            }
            if (returned is IActionResult result)
                await result.ExecuteResultAsync(
                    new ActionContext(context, context.GetRouteData(), new ActionDescriptor())
                );
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, body) = map(e is TargetInvocationException { InnerException: { } inner } ? inner : e);
            if (status >= 500)
                throw;
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(body, body.GetType(), jsonOptions);
        }
    }

    private static object? Bind(HttpContext context, ParameterInfo p)
    {
        if (p.ParameterType == typeof(HttpRequest))
            return context.Request;
        if (p.ParameterType == typeof(CancellationToken))
            return context.RequestAborted;
        if (context.Request.RouteValues.TryGetValue(p.Name!, out var value) && value is not null)
        {
            var target = Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType;
            return target == typeof(string)
                ? value.ToString()
                : Convert.ChangeType(value.ToString(), target, System.Globalization.CultureInfo.InvariantCulture);
        }
        return context.RequestServices.GetService(p.ParameterType)
            ?? (p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null);
    }
}
