using Mlops.Core.Errors;

namespace Mlops.Serving;

/// <summary>A prediction request that cannot be answered; <see cref="MlopsException.Status"/> is the HTTP
/// status.</summary>
public sealed class ServingException(
    string code,
    string message,
    int status = 400,
    IReadOnlyList<InputError>? details = null,
    Exception? inner = null
) : MlopsException(code, message, status, inner)
{
    /// <summary>Per-row, per-column problems (input validation).</summary>
    public IReadOnlyList<InputError> Details { get; } = details ?? [];
}

/// <summary>One input problem: which row, which column, what is wrong.</summary>
/// <param name="Row">Zero-based row index.</param>
/// <param name="Column">Column name.</param>
/// <param name="Problem"><c>missing</c>, <c>unexpected</c>, <c>wrong_type</c>, <c>duplicate</c>, <c>not_an_object</c>,
/// <c>invalid_text</c> (not valid UTF-8) or <c>out_of_range</c> (a number that is not a finite double).</param>
/// <param name="Message">Human-readable sentence.</param>
public sealed record InputError(int Row, string? Column, string Problem, string Message);
