using System.Text.Json;

namespace Mlops.Host.Http;

/// <summary>
/// The answers the host gives on its own, before or instead of the worker, in the app's documented error body
/// <c>{"error":{"code","message"}}</c> (the worker's ErrorMiddleware writes the same shape).
/// Azure's Functions host answers these with a status and an empty body (v4.1037: FunctionInvocationMiddleware's
/// NotFoundResult for no function, Kestrel's own 413/414/431); the local host adds the body because a person reading
/// the answer then learns what to fix, and a client written against Azure (which must go by the status) works
/// unchanged. A missing or insufficient key stays an empty 401, as in Azure: the dashboard recognises that answer, and
/// a caller without a key learns nothing from it.
/// </summary>
public static class HostErrorAnswer
{
    /// <summary>No function's route and method match the request.</summary>
    public const string NotFoundCode = "host.no_function";

    /// <summary>The body is over the host's limit.</summary>
    public const string TooLargeCode = "http.too_large";

    /// <summary>The request line is over the host's limit.</summary>
    public const string UriTooLongCode = "http.uri_too_long";

    /// <summary>The request headers are over the host's limit.</summary>
    public const string HeadersTooLargeCode = "http.headers_too_large";

    /// <summary>The invocation failed without an answer from the function.</summary>
    public const string InvocationFailedCode = "internal";

    /// <summary>Writes the status and the documented body; the response must not have started.</summary>
    public static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.XContentTypeOptions = "nosniff";
        byte[] body = Body(code, message);
        response.ContentLength = body.Length;
        // The caller may have gone: there is nobody left to tell.
        return response.Body.WriteAsync(body, 0, body.Length, CancellationToken.None);
    }

    /// <summary>The documented error body as UTF-8 JSON.</summary>
    public static byte[] Body(string code, string message)
    {
        using var buffer = new MemoryStream(128 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("code", code);
            writer.WriteString("message", message);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
