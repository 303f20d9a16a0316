using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Mlops.Core.Errors;

namespace Mlops.Functions.Hosting;

/// <summary>
/// Turns errors into JSON answers: the project's errors keep their 4xx status and message, malformed JSON is a 400,
/// an oversized body a 413. Only a real fault is a 500, and its details go to the log, not to the caller.
/// </summary>
public sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try { await next(context); }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            (int status, string code, string message) = e switch
            {
                MlopsException m => (m.Status, m.Code, m.Message),
                JsonException j => (400, "http.invalid_json", $"The request body is not valid JSON: {j.Message}"),
                BadHttpRequestException b when b.StatusCode == 413 => (413, "http.too_large", "The request body is too large."),
                BadHttpRequestException b => (b.StatusCode, "http.bad_request", b.Message),
                OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "http.cancelled", "The request was cancelled."),
                _ => (500, "internal", $"Internal error ({e.GetType().Name}); see the host log."),
            };
            if (status >= 500) log.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            context.Response.Clear();
            context.Response.StatusCode = status;
            // Same shape as the serving and registry endpoints: {"error": {"code", "message"}}.
            await context.Response.WriteAsJsonAsync(new { error = new { code, message } });
        }
    }
}
