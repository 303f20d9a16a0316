using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Serving;

namespace Mlops.Functions.Hosting;

/// <summary>The documented error body: <c>{"error":{"code","message","details"?}}</c>.</summary>
/// <param name="Error">The error.</param>
public sealed record ErrorBody(ErrorInfo Error);

/// <summary>One error: a stable code, a message for the person who must fix the input, and per-row details when there
/// are any.</summary>
/// <param name="Code">Stable machine-readable code, e.g. <c>serving.unknown_model</c>.</param>
/// <param name="Message">What went wrong and how to fix it.</param>
/// <param name="Details">Per-row input problems (predictions), else absent.</param>
public sealed record ErrorInfo(string Code, string Message, IReadOnlyList<InputError>? Details = null);

/// <summary>
/// The one place HTTP errors are written (the worker's <see cref="IFunctionsWorkerMiddleware"/>, so it runs under any
/// Functions host): the project's typed errors keep their 4xx status, code, message and details; malformed JSON is a
/// 400, an oversized body a 413, storage conflicts a 409 and outages a 503. Anything else is a fault of ours: a 500
/// whose details go to the log, not to the caller. Errors of non-HTTP functions (activities, triggers) pass through
/// untouched, so the host's retries and the Durable extension see them.
/// </summary>
public sealed class ErrorMiddleware(ILogger<ErrorMiddleware> log) : IFunctionsWorkerMiddleware
{
    /// <inheritdoc />
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            await next(context);
        }
        catch (Exception e) when (context.GetHttpContext() is { Response.HasStarted: false } http)
        {
            var (status, body) = Map(e, http.RequestAborted.IsCancellationRequested);
            if (status >= 500)
                log.LogError(
                    e,
                    "{Function} failed on {Method} {Path}",
                    context.FunctionDefinition.Name,
                    http.Request.Method,
                    http.Request.Path
                );
            await ApiResponse.Json(body, status).WriteAsync(http.Response, CancellationToken.None);
        }
    }

    /// <summary>The status and body an exception answers (public so the mapping is tested without a host).</summary>
    /// <param name="exception">What the function threw (wrappers such as AggregateException are looked
    /// through).</param>
    /// <param name="requestAborted">Whether the caller went away (a cancellation is then a 499, not a fault).</param>
    public static (int Status, ErrorBody Body) Map(Exception exception, bool requestAborted = false)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var e = Unwrap(exception);
        (int status, string code, string message, IReadOnlyList<InputError>? details) = e switch
        {
            ServingException s => (s.Status, s.Code, s.Message, s.Details.Count > 0 ? s.Details : null),
            MlopsException m => (m.Status, m.Code, m.Message, null),
            JsonException j => (400, "http.invalid_json", $"The request body is not valid JSON: {j.Message}", null),
            BadHttpRequestException { StatusCode: 413 } => (
                413,
                "http.too_large",
                "The request body is too large.",
                null
            ),
            BadHttpRequestException b => (b.StatusCode, "http.bad_request", b.Message, null),
            StorageConflictException c => (
                409,
                "registry.conflict",
                "A concurrent change won; re-read and retry. " + c.Message,
                null
            ),
            StorageUnavailableException => (503, "storage.unavailable", "Storage is unavailable; retry shortly.", null),
            OperationCanceledException when requestAborted => (
                499,
                "http.cancelled",
                "The request was cancelled.",
                null
            ),
            _ => (
                500,
                "internal",
                $"Internal error ({e.GetType().Name}); see the host log.",
                (IReadOnlyList<InputError>?)null
            ),
        };
        return (status, new ErrorBody(new ErrorInfo(code, message, details)));
    }

    /// <summary>The exception that says what happened: the first typed one inside invocation and aggregate
    /// wrappers.</summary>
    private static Exception Unwrap(Exception e)
    {
        for (var current = e; current is not null; current = current.InnerException)
        {
            if (
                current
                is MlopsException
                    or JsonException
                    or BadHttpRequestException
                    or StorageConflictException
                    or StorageUnavailableException
            )
                return current;
        }
        return e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
    }
}
