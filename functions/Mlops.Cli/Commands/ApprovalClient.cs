using System.Net.Http.Json;
using System.Text.Json;

namespace Mlops.Cli.Commands;

/// <summary>
/// <c>mlops models approve|reject</c>: sends the reviewer's decision through the app's API
/// (<c>POST /api/models/{model}/versions/{n}/approve|reject</c> with the master key), the one approval path the
/// dashboard and any client use. The API raises the durable event the waiting run listens for; the run then records the
/// decision on the version and promotes (or not). Writing the registry directly would mark the version approved while
/// the run that asked kept waiting, and it would never promote.
/// </summary>
public sealed class ApprovalClient(HttpClient http)
{
    /// <summary>Environment variable with the app's base URL (default <see cref="DefaultUrl"/>).</summary>
    public const string UrlVariable = "MLOPS_URL";

    /// <summary>Environment variable with the master key (the key level that changes state).</summary>
    public const string KeyVariable = "MLOPS_MASTER_KEY";

    /// <summary>Where the local host listens by default.</summary>
    public const string DefaultUrl = "http://127.0.0.1:7071";

    /// <summary>Sends the decision; returns the API's answer (202 with the run that received it) or throws <see
    /// cref="ApprovalException"/>.</summary>
    /// <param name="baseUrl">The app's base URL, e.g. <c>https://myapp.azurewebsites.net</c>.</param>
    /// <param name="key">The master key, sent as <c>x-functions-key</c>.</param>
    /// <param name="model">The model (dataset).</param>
    /// <param name="version">The version waiting for approval.</param>
    /// <param name="approved">Approve (true) or reject (false).</param>
    /// <param name="comment">Why; recorded with the decision.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<JsonElement> DecideAsync(
        string baseUrl,
        string key,
        string model,
        int version,
        bool approved,
        string? comment,
        CancellationToken cancellationToken = default
    )
    {
        if (
            !Uri.TryCreate(baseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var root)
            || root.Scheme is not ("http" or "https")
        )
            throw new ApprovalException($"--url '{baseUrl}' is not an http(s) URL of the app, e.g. {DefaultUrl}.", 2);
        if (string.IsNullOrWhiteSpace(key))
            throw new ApprovalException($"A decision needs the master key: pass --key or set {KeyVariable}.", 2);
        var uri = new Uri(
            root,
            $"api/models/{Uri.EscapeDataString(model)}/versions/{version}/{(approved ? "approve" : "reject")}"
        );
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = JsonContent.Create(new { comment }),
        };
        request.Headers.Add("x-functions-key", key);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new ApprovalException($"Cannot reach the app at {root}: {e.Message}", 3);
        }
        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonElement? json = TryParse(body);
            if (response.IsSuccessStatusCode)
                return json ?? default;
            string message =
                json is { } j && j.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var m)
                    ? $"{(error.TryGetProperty("code", out var code) ? code.GetString() + ": " : "")}{m.GetString()}"
                    : $"{(int)response.StatusCode} {response.ReasonPhrase}";
            // 409 (the run is no longer waiting) is worth a look rather than a retry; the exit code tells it apart.
            throw new ApprovalException(message, response.StatusCode == System.Net.HttpStatusCode.Conflict ? 2 : 1);
        }
    }

    private static JsonElement? TryParse(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return null;
        try
        {
            return JsonDocument.Parse(body).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>A decision the API refused or could not receive; <see cref="ExitCode"/> is the CLI's exit code.</summary>
public sealed class ApprovalException(string message, int exitCode) : Exception(message)
{
    /// <summary>1 refused, 2 bad arguments or conflict, 3 the app could not be reached.</summary>
    public int ExitCode { get; } = exitCode;
}
