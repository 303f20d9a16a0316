using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Mlops.Core;

namespace Mlops.Functions.Hosting;

/// <summary>
/// What a handler answers: a status, a body (serialized with the app's <see cref="Json.Options"/> — camelCase, enums as
/// strings — whatever the worker's defaults), and optional headers. Handlers return it so tests can read the status and
/// body without HTTP; the HTTP functions return it as their <see cref="IActionResult"/>.
/// </summary>
public sealed class ApiResponse : IActionResult
{
    private ApiResponse(int status, object? body, byte[]? raw, string? contentType)
    {
        Status = status;
        Body = body;
        Raw = raw;
        ContentType = contentType;
    }

    /// <summary>HTTP status code.</summary>
    public int Status { get; }

    /// <summary>The JSON body as an object (null when <see cref="Raw"/> is the body).</summary>
    public object? Body { get; }

    /// <summary>A non-JSON body (a file, an HTML page).</summary>
    public byte[]? Raw { get; }

    /// <summary>Content type of <see cref="Raw"/>.</summary>
    public string? ContentType { get; }

    /// <summary>Extra response headers (e.g. <c>Location</c>, <c>Content-Disposition</c>).</summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A JSON answer.</summary>
    public static ApiResponse Json(object? body, int status = StatusCodes.Status200OK) => new(status, body, null, null);

    /// <summary>A file download.</summary>
    public static ApiResponse File(byte[] content, string contentType, string fileName)
    {
        var response = new ApiResponse(StatusCodes.Status200OK, null, content, contentType);
        response.Headers["Content-Disposition"] = $"attachment; filename=\"{fileName}\"";
        return response;
    }

    /// <summary>Text such as an HTML page.</summary>
    public static ApiResponse Text(string text, string contentType) =>
        new(StatusCodes.Status200OK, null, System.Text.Encoding.UTF8.GetBytes(text), contentType);

    /// <summary>Adds a header and returns this answer.</summary>
    public ApiResponse WithHeader(string name, string value)
    {
        Headers[name] = value;
        return this;
    }

    /// <summary>The body as a JSON element (tests and callers that post-process an answer).</summary>
    public JsonElement BodyJson() => JsonSerializer.SerializeToElement(Body, Mlops.Core.Json.Options);

    /// <inheritdoc />
    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return WriteAsync(context.HttpContext.Response, context.HttpContext.RequestAborted);
    }

    /// <summary>Writes the answer to a response.</summary>
    public async Task WriteAsync(HttpResponse response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = Status;
        // Every answer says what it is and must not be sniffed into something else (a JSON body or a report rendered as
        // a page on the dashboard's origin).
        response.Headers.XContentTypeOptions = "nosniff";
        foreach (var (name, value) in Headers)
            response.Headers[name] = value;
        byte[] bytes = Raw ?? JsonSerializer.SerializeToUtf8Bytes(Body, Mlops.Core.Json.Options);
        response.ContentType = Raw is null ? "application/json; charset=utf-8" : ContentType;
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, cancellationToken);
    }
}
