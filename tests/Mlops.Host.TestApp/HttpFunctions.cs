using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Mlops.Host.TestApp;

/// <summary>
/// HTTP functions whose names, routes and levels exercise the host's routing and keys. Each answers with its own name
/// so a test sees which function the host picked.
/// </summary>
public static class HttpFunctions
{
    /// <summary>Anonymous GET.</summary>
    [Function(nameof(Hello))]
    public static IActionResult Hello(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "hello")] HttpRequest req
    ) => new OkObjectResult(new { function = nameof(Hello), query = req.Query["q"].ToString() });

    /// <summary>Function-level GET with a route value.</summary>
    [Function(nameof(GetThing))]
    public static IActionResult GetThing(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "things/{name}")] HttpRequest req,
        string name
    ) => new OkObjectResult(new { function = nameof(GetThing), name });

    /// <summary>Admin-level POST.</summary>
    [Function(nameof(AdminReset))]
    public static IActionResult AdminReset(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "admin/reset")] HttpRequest req
    ) => new OkObjectResult(new { function = nameof(AdminReset) });

    /// <summary>Matches items/{id} only when id is an integer; sorts before <see cref="ItemSpecial"/>.</summary>
    [Function(nameof(ItemById))]
    public static IActionResult ItemById(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{id:int}")] HttpRequest req,
        int id
    ) => new OkObjectResult(new { function = nameof(ItemById), id });

    /// <summary>A literal route that differs from <see cref="ItemById"/> only by the int constraint.</summary>
    [Function(nameof(ItemSpecial))]
    public static IActionResult ItemSpecial(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/special")] HttpRequest req
    ) => new OkObjectResult(new { function = nameof(ItemSpecial) });

    /// <summary>
    /// A catch-all whose name sorts first: under the real host it takes files/info away from <see cref="FilesInfo"/>
    /// (first match in name order wins, not the most specific route).
    /// </summary>
    [Function(nameof(AaCatchAll))]
    public static IActionResult AaCatchAll(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{*rest}")] HttpRequest req,
        string rest
    ) => new OkObjectResult(new { function = nameof(AaCatchAll), rest });

    /// <summary>Shadowed by <see cref="AaCatchAll"/> under host routing.</summary>
    [Function(nameof(FilesInfo))]
    public static IActionResult FilesInfo(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/info")] HttpRequest req
    ) => new OkObjectResult(new { function = nameof(FilesInfo) });

    /// <summary>A regex constraint: only codes of three capital letters.</summary>
    [Function(nameof(Code))]
    public static IActionResult Code(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "codes/{code:regex(^[A-Z]{{3}}$)}")] HttpRequest req,
        string code
    ) => new OkObjectResult(new { function = nameof(Code), code });

    /// <summary>Throws: the worker answers its HTTP side empty, the invocation fails, the host answers 500.</summary>
    [Function(nameof(Throws))]
    public static IActionResult Throws(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "throws")] HttpRequest req
    ) => throw new InvalidOperationException("This function always fails.");

    /// <summary>Answers after <c>?ms=</c> milliseconds (in-flight invocations for restart and cancellation
    /// tests).</summary>
    [Function(nameof(Slow))]
    public static async Task<IActionResult> Slow(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "slow")] HttpRequest req,
        CancellationToken cancellationToken
    )
    {
        int ms = int.TryParse(req.Query["ms"], out int m) ? m : 1000;
        await Task.Delay(ms, cancellationToken);
        return new OkObjectResult(new { function = nameof(Slow), ms });
    }

    /// <summary>Echoes the body's length, the method and selected headers (forwarding and body-limit tests).</summary>
    [Function(nameof(Echo))]
    public static async Task<IActionResult> Echo(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", "put", Route = "echo")] HttpRequest req
    )
    {
        using var buffer = new MemoryStream();
        await req.Body.CopyToAsync(buffer);
        return new OkObjectResult(
            new
            {
                function = nameof(Echo),
                method = req.Method,
                length = buffer.Length,
                contentType = req.ContentType,
                custom = req.Headers["x-test"].ToString(),
                query = req.QueryString.Value,
            }
        );
    }

    /// <summary>Returns the claims the host attached to the invocation (auth level and key id, as the real host
    /// does).</summary>
    [Function(nameof(WhoAmI))]
    public static IActionResult WhoAmI(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "whoami")] HttpRequest req,
        FunctionContext context
    )
    {
        var claims = context.GetHttpContext()?.User.Claims.Select(c => new { c.Type, c.Value }).ToArray() ?? [];
        return new ContentResult
        {
            Content = JsonSerializer.Serialize(new { function = nameof(WhoAmI), claims }),
            ContentType = "application/json",
            StatusCode = StatusCodes.Status200OK,
        };
    }
}
