using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Mlops.Host.Hosting;
using Mlops.Host.Protocol;
using Mlops.Host.Worker;
using Yarp.ReverseProxy.Forwarder;

namespace Mlops.Host.Http;

/// <summary>
/// The host's HTTP front for a worker with ASP.NET Core integration, in the order the Functions host handles a request
/// (azure-functions-host v4.1037: FunctionInvocationMiddleware, AuthenticationLevelHandler, GrpcWorkerChannel,
/// DefaultHttpProxyService): request limits (413/414/431, <see cref="HostRequestLimits"/>), route table (404), key
/// authorization (401, empty body), then the invocation: the original request is forwarded to the worker's HttpUri with
/// <c>x-ms-invocation-id</c> and an InvocationRequest with a minimal RpcHttp and the trigger metadata goes over gRPC;
/// the worker's response streams back; a failed invocation whose response has not started becomes a 500. The host's own
/// refusals other than 401 carry the documented error body (<see cref="HostErrorAnswer"/>).
/// </summary>
public sealed class HttpFront : IDisposable
{
    /// <summary>The host's default request body limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT unset): 100 MB.</summary>
    public const long MaxRequestBodySize = 100L * 1024 * 1024;

    /// <summary>The header that pairs a forwarded request with its invocation
    /// (ScriptConstants.HttpProxyCorrelationHeader).</summary>
    public const string InvocationIdHeader = "x-ms-invocation-id";

    private const string KeyHeader = "x-functions-key";
    private const string KeyQuery = "code";
    private readonly WorkerHost _worker;
    private readonly HttpRouteTable _routes;
    private readonly HostKeys _keys;
    private readonly IHttpForwarder _forwarder;
    private readonly HostLog _log;
    private readonly HttpMessageInvoker _invoker;
    private readonly ForwarderRequestConfig _forwarderConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(240) };

    public HttpFront(WorkerHost worker, HttpRouteTable routes, HostKeys keys, IHttpForwarder forwarder, HostLog log)
    {
        _worker = worker;
        _routes = routes;
        _keys = keys;
        _forwarder = forwarder;
        _log = log;
        // One pooled client for every hop, as the host's DefaultHttpProxyService keeps one: no redirects, no cookies,
        // no proxy, no decompression, no activity headers (the worker is a loopback peer).
        _invoker = new HttpMessageInvoker(
            new RetryOnConnectHandler(
                new SocketsHttpHandler
                {
                    UseProxy = false,
                    AllowAutoRedirect = false,
                    AutomaticDecompression = DecompressionMethods.None,
                    UseCookies = false,
                    ActivityHeadersPropagator = null,
                    ConnectTimeout = TimeSpan.FromSeconds(15),
                    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
                },
                log
            )
        );
    }

    /// <summary>Handles one request end to end.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        if (HostRequestLimits.Check(context) is { } refused)
        {
            await HostErrorAnswer.WriteAsync(context, refused.Status, refused.Code, refused.Message);
            return;
        }
        var match = await _routes.MatchAsync(context);
        if (match is not { } found)
        {
            await HostErrorAnswer.WriteAsync(
                context,
                StatusCodes.Status404NotFound,
                HostErrorAnswer.NotFoundCode,
                $"No function answers {context.Request.Method} {context.Request.Path}: check the path and the method."
            );
            return;
        }
        var (function, values) = found;
        if (!await AuthorizeAsync(context, function))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        await InvokeAsync(context, function, values);
    }

    /// <summary>
    /// The host's rule (FunctionInvocationMiddleware.RequiresAuthz, AuthUtility.PrincipalHasAuthLevelClaim): anonymous
    /// functions need nothing; otherwise the key from <c>x-functions-key</c> (first) or <c>?code=</c> must grant the
    /// function's level, where the master key grants every level.
    /// </summary>
    private async ValueTask<bool> AuthorizeAsync(HttpContext context, HttpFunction function)
    {
        if (function.Level == AuthLevel.Anonymous)
            return true;
        string? key =
            context.Request.Headers.TryGetValue(KeyHeader, out var header) ? header[0]
            : context.Request.Query.TryGetValue(KeyQuery, out var query) ? query[0]
            : null;
        if (string.IsNullOrEmpty(key))
            return false;
        var (_, level) = await _keys.AuthorizeAsync(key, function.Function.Name, context.RequestAborted);
        return level == AuthLevel.Admin || level == function.Level;
    }

    private async Task InvokeAsync(HttpContext context, HttpFunction function, RouteValueDictionary values)
    {
        WorkerSession session;
        try
        {
            session = await _worker.ReadySessionAsync(context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return;
        } // the client left while the worker restarted
        if (session.HttpDestinationPrefix is not { } destination)
        {
            await FailAsync(
                context,
                function,
                "the worker has no HttpUri capability; this host needs the ASP.NET Core integration"
            );
            return;
        }
        var invocation = BuildInvocation(context, function.Function, values, session);
        Task<InvocationResponse> result;
        ForwarderError forwardError;
        try
        {
            _worker.Prepare(session, function.Function, invocation);
            context.Request.Headers[InvocationIdHeader] = invocation.InvocationId;
            // The host starts forwarding before it sends the invocation, so the worker finds the request waiting.
            var forwarding = _forwarder.SendAsync(context, destination, _invoker, _forwarderConfig);
            result = session.Invoke(invocation, context.RequestAborted);
            forwardError = await forwarding;
        }
        catch (Exception e) when (e is WorkerExitedException or InvalidOperationException)
        {
            await FailAsync(context, function, e.Message);
            return;
        }
        try
        {
            var response = await result;
            if (response.Result?.Status != StatusResult.Types.Status.Success)
                await FailAsync(context, function, response.Result?.Exception?.Message ?? "the invocation failed");
            else if (forwardError != ForwarderError.None)
                await FailAsync(context, function, $"forwarding to the worker failed: {forwardError}");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested) { }
        catch (WorkerExitedException e)
        {
            await FailAsync(context, function, e.Message);
        }
    }

    private async Task FailAsync(HttpContext context, HttpFunction function, string reason)
    {
        _log.Host($"{function.Function.Name} failed: {reason}");
        if (context.Response.HasStarted)
            return; // the worker's response is already on its way; the host cannot change it
        context.Response.Clear();
        // The reason stays in the host log: it may name internals the caller has no business seeing.
        await HostErrorAnswer.WriteAsync(
            context,
            StatusCodes.Status500InternalServerError,
            HostErrorAnswer.InvocationFailedCode,
            $"{function.Function.Name} failed; see the host log."
        );
    }

    /// <summary>
    /// The invocation as the host sends it to a proxying worker (GrpcMessageConversionExtensions.ToRpcHttp and
    /// ScriptInvocationContextExtensions, HttpTriggerAttributeBindingProvider.GetRequestBindingData): the trigger input
    /// is an empty RpcHttp (route values only when the worker asks with RequiresRouteParameters); trigger metadata
    /// holds the query values (except <c>code</c>), the route values, and <c>Query</c> and <c>Headers</c> as JSON
    /// objects.
    /// </summary>
    private static InvocationRequest BuildInvocation(
        HttpContext context,
        HostedFunction function,
        RouteValueDictionary values,
        WorkerSession session
    )
    {
        var invocation = new InvocationRequest { InvocationId = Guid.NewGuid().ToString() };
        var http = new RpcHttp();
        if (session.Capabilities.ContainsKey("RequiresRouteParameters"))
            foreach (var (name, value) in values)
                if (value is not null)
                    http.Params[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)
                        ?? "";
        invocation.InputData.Add(
            new ParameterBinding
            {
                Name = function.Trigger.Key,
                Data = new TypedData { Http = http },
            }
        );

        var metadata = invocation.TriggerMetadata;
        var query = context.Request.Query;
        foreach (var (name, value) in query)
            if (!name.Equals(KeyQuery, StringComparison.OrdinalIgnoreCase))
                metadata[name] = new TypedData { String = value.ToString() };
        foreach (var (name, value) in values)
            if (value is not null)
                metadata[name] = new TypedData
                {
                    String = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
                };
        metadata["Query"] = new TypedData { Json = JsonObjectOf(query.Select(q => (q.Key, q.Value.ToString()))) };
        metadata["Headers"] = new TypedData
        {
            Json = JsonObjectOf(context.Request.Headers.Select(h => (h.Key, h.Value.ToString()))),
        };
        return invocation;
    }

    private static string JsonObjectOf(IEnumerable<(string Key, string Value)> pairs)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in pairs)
                writer.WriteString(key, value);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public void Dispose() => _invoker.Dispose();
}
