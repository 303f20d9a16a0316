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
            (int status, string message) = e switch
            {
                MlopsException m => (m.Status, m.Message),
                JsonException j => (400, $"The request body is not valid JSON: {j.Message}"),
                BadHttpRequestException b when b.StatusCode == 413 => (413, "The request body is too large."),
                BadHttpRequestException b => (b.StatusCode, b.Message),
                OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "The request was cancelled."),
                _ => (500, $"Internal error ({e.GetType().Name}); see the host log."),
            };
            if (status >= 500) log.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            context.Response.Clear();
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new { error = message });
        }
    }
}
