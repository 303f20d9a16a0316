using Mlops.Core.Errors;

namespace Mlops.Data;

/// <summary>
/// The one exception type of the data area (dataset versions, schema, validation options, profiling).
/// Codes are stable and start with <c>data.</c>, e.g. <c>data.invalid_dataset_name</c>, <c>data.options</c>,
/// <c>data.schema</c>, <c>data.version_not_found</c>, <c>data.not_accepted</c>.
/// </summary>
/// <remarks>
/// Invalid data files are <b>not</b> reported with this exception: they produce a quarantined
/// <see cref="Validation.ValidationReport"/> so the caller keeps running. This type is for misuse of the API
/// (bad names, bad options, unknown versions) and maps to a 4xx through <see cref="MlopsException.Status"/>.
/// </remarks>
public sealed class DataException(string code, string message, int status = 400, Exception? inner = null)
    : MlopsException(code, message, status, inner)
{
    /// <summary>1-based line of the file the problem is on (code <c>data.malformed</c>), when known.</summary>
    public long? Line { get; init; }

    /// <summary>1-based field index the problem is on, when known.</summary>
    public int? Column { get; init; }
}
