using Azure;
using Mlops.Core.Errors;
using Mlops.Core.Storage;

namespace Mlops.Storage.Azure;

/// <summary>
/// Maps the Azure SDK's failures onto the ports' meaningful ones: a lost condition (<see
/// cref="StorageConflictException"/>), storage unreachable (<see cref="StorageUnavailableException"/>), or a request
/// storage refused as malformed.
/// </summary>
internal static class AzureErrors
{
    /// <summary>
    /// True for failures that come from storage or the network, as opposed to the caller cancelling. The SDK reports a
    /// transport failure as status 0, and wraps the attempts in an <see cref="AggregateException"/> once retries run
    /// out.
    /// </summary>
    public static bool IsStorageFailure(Exception e, CancellationToken cancellationToken) =>
        e switch
        {
            RequestFailedException => true,
            AggregateException a => a.InnerExceptions.Any(i => IsStorageFailure(i, cancellationToken)),
            // A try that exceeds the pipeline's NetworkTimeout surfaces as a cancellation the caller did not ask for.
            OperationCanceledException => !cancellationToken.IsCancellationRequested,
            HttpRequestException or IOException => true,
            _ => false,
        };

    /// <summary>Runs one storage call and translates its storage failures (see <see cref="Translate"/>), naming the
    /// operation.</summary>
    public static async Task<T> GuardAsync<T>(string what, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (IsStorageFailure(e, cancellationToken))
        {
            throw Translate(e, what);
        }
    }

    /// <summary>True for a 404 answer (missing blob, container, queue, table, entity).</summary>
    public static bool IsNotFound(Exception e) => Status(e) == 404;

    /// <summary>The HTTP status of a storage failure (0 when no response came back).</summary>
    public static int Status(Exception e) => Request(e)?.Status ?? 0;

    /// <summary>The storage error code (e.g. <c>ContainerNotFound</c>), when storage answered.</summary>
    public static string? Code(Exception e) => Request(e)?.ErrorCode;

    /// <summary>412 (ETag), 409 (exists / lease held).</summary>
    public static bool IsConflict(Exception e) => Status(e) is 409 or 412;

    /// <summary>Turns a storage failure into the port's exception, naming the operation.</summary>
    public static Exception Translate(Exception e, string what)
    {
        int status = Status(e);
        if (status is 409 or 412)
            return new StorageConflictException($"{what}: condition failed ({status} {Code(e)}).", e);
        if (status == 0 || status >= 500 || status is 408 or 429)
            return new StorageUnavailableException(
                $"{what}: storage unavailable ({(status == 0 ? Innermost(e).Message : $"{status} {Code(e)}")}).",
                e
            );
        if (status == 400)
            return new MlopsException(
                "storage.invalid_request",
                $"{what}: storage refused the request ({Reason(e)}).",
                inner: e
            );
        return new InvalidOperationException($"{what}: storage answered {status} {Code(e)}: {FirstLine(e.Message)}", e);
    }

    /// <summary>The error code, else the service's message (Azurite leaves the code empty for some 400s).</summary>
    private static string Reason(Exception e)
    {
        if (Code(e) is { Length: > 0 } code)
            return code;
        var match = System.Text.RegularExpressions.Regex.Match(
            e.Message,
            @"<Message>([^<\r\n]+)|""value""\s*:\s*""([^""\\]+)"
        );
        return match.Success
            ? (match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value).Trim()
            : "no reason given";
    }

    private static RequestFailedException? Request(Exception e) =>
        e switch
        {
            RequestFailedException r => r,
            // After retries the last attempt carries the answer that counts.
            AggregateException a => a.InnerExceptions.Select(Request).LastOrDefault(r => r is not null),
            _ => e.InnerException is { } inner ? Request(inner) : null,
        };

    private static Exception Innermost(Exception e) =>
        e switch
        {
            AggregateException a when a.InnerExceptions.Count > 0 => Innermost(a.InnerExceptions[^1]),
            _ when e.InnerException is { } inner => Innermost(inner),
            _ => e,
        };

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
