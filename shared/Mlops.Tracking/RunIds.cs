using System.Text.RegularExpressions;

namespace Mlops.Tracking;

/// <summary>
/// Run ids as the training pipeline makes them: <c>{pipeline}-t{trial}</c>, or <c>{pipeline}-t{trial}-r{rung}</c> for
/// a rung of an adaptive sweep. The pipeline part is the index's partition key, so a sweep is one partition query
/// and a run is one point read.
/// </summary>
public static partial class RunIds
{
    [GeneratedRegex(@"^(?<pipeline>.+)-t(?<trial>\d+)(-r(?<rung>\d+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:-]{0,250}$", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();

    /// <summary>
    /// Splits a run id; a run id of another shape is its own pipeline with no trial number. So is one whose trial or
    /// rung number does not fit an int (<c>x-t99999999999</c>): the pipeline never makes those, and a caller's id must
    /// never turn into an overflow (a 500) on the way to the index.
    /// </summary>
    public static (string Pipeline, int? Trial, int? Rung) Parse(string runId)
    {
        var m = Pattern().Match(runId);
        if (!m.Success)
            return (runId, null, null);
        if (
            !int.TryParse(
                m.Groups["trial"].ValueSpan,
                System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture,
                out int trial
            )
        )
            return (runId, null, null);
        if (!m.Groups["rung"].Success)
            return (m.Groups["pipeline"].Value, trial, null);
        return int.TryParse(
            m.Groups["rung"].ValueSpan,
            System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture,
            out int rung
        )
            ? (m.Groups["pipeline"].Value, trial, rung)
            : (runId, null, null);
    }

    /// <summary>
    /// True for ids that can be a run or pipeline id: letters, digits, <c>. _ : -</c>, no path separators, so a
    /// blob path or table key built from them stays inside <c>runs/</c>.
    /// </summary>
    public static bool IsValid(string id) => Allowed().IsMatch(id) && !id.Contains("..", StringComparison.Ordinal);

    /// <summary>Throws the 400 the API answers for an id that cannot name a run.</summary>
    public static string Check(string id, string what = "run id") =>
        IsValid(id)
            ? id
            : throw new Core.Errors.MlopsException(
                "runs.bad_id",
                $"'{id}' is not a valid {what}: use letters, digits, '.', '_', ':' and '-' only."
            );
}
