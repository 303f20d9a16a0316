namespace Mlops.Core.Errors;

/// <summary>
/// Base of the project's user-facing errors: a stable code and a message written for the person who must fix the input.
/// The HTTP layer maps <see cref="Status"/> to the response status (4xx for bad input) — never a 500 for user input.
/// </summary>
public class MlopsException(string code, string message, int status = 400, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>Stable machine-readable code, e.g. <c>config.missing_target</c>.</summary>
    public string Code { get; } = code;

    /// <summary>Suggested HTTP status: 400 bad input, 404 unknown thing, 409 conflict, 413 too large.</summary>
    public int Status { get; } = status;
}

/// <summary>A named thing (dataset, model, version, instance) does not exist.</summary>
public sealed class NotFoundException(string code, string message) : MlopsException(code, message, 404);
