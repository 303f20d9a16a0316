using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Functions.Functions;
using Mlops.Functions.Triggers;

namespace Mlops.Functions.CustomHandler;

/// <summary>
/// The Azure Functions custom-handler contract for the non-HTTP functions: the Functions host owns the trigger (blob
/// scan, timer schedule) and POSTs an invocation to <c>/{FunctionName}</c>; we run the same handler the local host runs
/// and answer <c>{"Outputs":{}, "Logs":[...], "ReturnValue": ...}</c>. HTTP functions are forwarded as they are
/// (<c>enableForwardingHttpRequest</c>), so the /api routes serve both hosts unchanged.
/// </summary>
public static class CustomHandlerEndpoints
{
    public sealed record InvocationResponse(Dictionary<string, object?> Outputs, List<string> Logs, object? ReturnValue);

    /// <summary>The contract's names are PascalCase (Outputs, Logs, ReturnValue), unlike our camelCase API.</summary>
    private static readonly JsonSerializerOptions ContractJson = new() { PropertyNamingPolicy = null };

    private static IResult Answer(InvocationResponse response) => Results.Json(response, ContractJson);

    public static IEndpointRouteBuilder MapCustomHandler(this IEndpointRouteBuilder app)
    {
        app.MapPost("/" + DataDropped.Name, async (HttpContext http, CancellationToken ct) =>
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: ct);
            var blob = ParseBlobInvocation(doc.RootElement);
            var handler = http.RequestServices.GetRequiredService<DataDropped>();
            try
            {
                string? id = await handler.RunAsync(blob, ct);
                return Answer(new InvocationResponse(new(), [$"training run {id} started for {blob.Container}/{blob.Name}"], id));
            }
            catch (UnsupportedBlobException e)
            {
                // Not retryable: report and complete, so the Functions host does not retry it into its poison queue.
                return Answer(new InvocationResponse(new(), [e.Message], null));
            }
        });

        app.MapPost("/" + ScheduledRetraining.Name, async (HttpContext http, CancellationToken ct) =>
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: ct);
            var tick = ParseTimerInvocation(doc.RootElement);
            var ids = await http.RequestServices.GetRequiredService<ScheduledRetraining>().RunAsync(tick, ct);
            return Answer(new InvocationResponse(new(), [$"started {ids.Count} run(s)"], ids));
        });
        return app;
    }

    /// <summary>Reads a blob-trigger invocation: the blob path comes from the binding metadata (dataset, name), its version from Properties.ETag.</summary>
    public static BlobTriggerEvent ParseBlobInvocation(JsonElement root)
    {
        var meta = root.GetProperty("Metadata");
        string dataset = Unquote(meta.GetProperty("dataset"));
        string name = Unquote(meta.GetProperty("name"));
        string etag = meta.TryGetProperty("Properties", out var p) && p.TryGetProperty("ETag", out var e) ? Unquote(e) : "";
        long length = meta.TryGetProperty("Properties", out var p2) && p2.TryGetProperty("Length", out var l) && l.TryGetInt64(out long len) ? len : 0;
        return new BlobTriggerEvent(DataDropped.Container, $"{dataset}/{name}", etag, length, 1);
    }

    /// <summary>Reads a timer invocation; the tick time is the host's schedule status "Next" if present, else sys.UtcNow.</summary>
    public static TimerTick ParseTimerInvocation(JsonElement root)
    {
        var data = root.GetProperty("Data").GetProperty("timer");
        var timer = data.ValueKind == JsonValueKind.String ? JsonDocument.Parse(data.GetString()!).RootElement : data;
        bool pastDue = timer.TryGetProperty("IsPastDue", out var pd) && pd.ValueKind == JsonValueKind.True;
        DateTimeOffset tick = root.GetProperty("Metadata").TryGetProperty("sys", out var sys) && sys.TryGetProperty("UtcNow", out var now)
            ? DateTimeOffset.Parse(Unquote(now), System.Globalization.CultureInfo.InvariantCulture)
            : DateTimeOffset.UtcNow;
        // Round to the second so two deliveries of one tick map to one run id.
        tick = new DateTimeOffset(tick.Ticks - tick.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        return new TimerTick(ScheduledRetraining.AllDatasetsTimer, tick, pastDue);
    }

    /// <summary>The Functions host sends metadata values JSON-encoded (strings arrive as "\"value\"").</summary>
    private static string Unquote(JsonElement e)
    {
        string s = e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();
        return s.Length >= 2 && s[0] == '"' && s[^1] == '"' ? JsonSerializer.Deserialize<string>(s)! : s;
    }
}
