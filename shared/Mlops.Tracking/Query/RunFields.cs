using System.Globalization;
using System.Text.Json;
using Mlops.Core.Errors;

namespace Mlops.Tracking.Query;

/// <summary>
/// A field of a run that filters, sorts and groups name: <c>metrics.auc</c>, <c>params.num_leaves</c>,
/// <c>curves.logloss.best</c> (best/last/min/max/bestRound), or a plain attribute (<c>status</c>, <c>trainer</c>,
/// <c>dataset</c>, <c>pipeline</c>, <c>stage</c>, <c>sweepMethod</c>, <c>runId</c>, <c>task</c>, <c>trainSeconds</c>,
/// <c>createdAt</c>, <c>prunedAtRound</c>, <c>trial</c>, <c>rung</c>).
/// </summary>
public sealed record RunField(string Path, string Kind, string? Name = null, string? Part = null)
{
    private static readonly string[] Plain =
    [
        "status",
        "trainer",
        "dataset",
        "pipeline",
        "stage",
        "sweepMethod",
        "runId",
        "task",
        "trainSeconds",
        "createdAt",
        "prunedAtRound",
        "trial",
        "rung",
        "primaryMetric",
    ];

    private static readonly string[] CurveParts = ["best", "last", "min", "max", "bestRound"];

    /// <summary>Parses a field path; throws a 400 naming the valid forms (at <paramref name="position"/> in the
    /// expression).</summary>
    public static RunField Parse(string path, int position = 0)
    {
        string[] parts = path.Split('.', 2);
        switch (parts[0])
        {
            case "metrics" or "params" when parts.Length == 2 && parts[1].Length > 0:
                return new RunField(path, parts[0], parts[1]);
            case "curves" when parts.Length == 2:
                int dot = parts[1].LastIndexOf('.');
                string part = dot > 0 ? parts[1][(dot + 1)..] : "";
                if (dot <= 0 || !CurveParts.Contains(part))
                    throw Error(
                        position,
                        $"'{path}' needs a part: curves.<metric>.best, .last, .min, .max or .bestRound."
                    );
                return new RunField(path, "curves", parts[1][..dot], part);
        }
        string? plain = Plain.FirstOrDefault(p => string.Equals(p, path, StringComparison.OrdinalIgnoreCase));
        return plain is not null
            ? new RunField(plain, plain)
            : throw Error(
                position,
                $"Unknown field '{path}': use metrics.<name>, params.<name>, curves.<metric>.best|last|min|max|bestRound, or one of {string.Join(", ", Plain)}."
            );
    }

    /// <summary>The field's value for a run: a double, a string, a bool, or null when the run lacks it.</summary>
    public object? ValueOf(RunRecord run) =>
        Kind switch
        {
            "metrics" => run.Metrics.TryGetValue(Name!, out var m) ? m : null,
            "params" => run.Params.TryGetValue(Name!, out var p) ? FromJson(p) : null,
            "curves" => run.Curves.TryGetValue(Name!, out var c)
                ? Part switch
                {
                    "best" => c.Best,
                    "last" => c.Last,
                    "min" => c.Min,
                    "max" => c.Max,
                    _ => (double)c.BestRound,
                }
                : null,
            "status" => run.Status,
            "trainer" => run.Trainer,
            "dataset" => run.Dataset,
            "pipeline" => run.Pipeline,
            "stage" => run.Stage,
            "sweepMethod" => run.SweepMethod,
            "runId" => run.RunId,
            "task" => run.Task,
            "primaryMetric" => run.PrimaryMetric,
            "trainSeconds" => run.TrainSeconds,
            "createdAt" => run.CreatedAt?.UtcDateTime.ToString(
                "yyyy-MM-ddTHH:mm:ss.fffZ",
                CultureInfo.InvariantCulture
            ),
            "prunedAtRound" => (double?)run.PrunedAtRound,
            "trial" => (double?)run.Trial,
            "rung" => (double?)run.Rung,
            _ => null,
        };

    /// <summary>A JSON parameter value as a double, string or bool (objects and arrays as their JSON text).</summary>
    public static object? FromJson(JsonElement e) =>
        e.ValueKind switch
        {
            JsonValueKind.Number => e.GetDouble(),
            JsonValueKind.String => e.GetString(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => e.GetRawText(),
        };

    /// <summary>
    /// Orders two field values: numbers numerically (a numeric string counts as a number, since a CSV-born parameter
    /// may be text), otherwise ordinal text. Nulls sort last in both directions, so callers handle them first.
    /// </summary>
    public static int Compare(object a, object b)
    {
        if (AsNumber(a) is { } x && AsNumber(b) is { } y)
            return x.CompareTo(y);
        return string.CompareOrdinal(AsText(a), AsText(b));
    }

    /// <summary>A value as a number when it is one (bools are 1/0).</summary>
    public static double? AsNumber(object? v) =>
        v switch
        {
            double d => d,
            bool b => b ? 1 : 0,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) => p,
            _ => null,
        };

    /// <summary>A value as invariant text (what grouping keys and tables print).</summary>
    public static string AsText(object? v) =>
        v switch
        {
            null => "",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            _ => v.ToString() ?? "",
        };

    private static MlopsException Error(int position, string message) => new FilterSyntaxException(position, message);
}

/// <summary>A filter or sort expression that cannot be parsed: a 400 that says where.</summary>
public sealed class FilterSyntaxException(int position, string message)
    : MlopsException("runs.bad_filter", $"Filter error at position {position}: {message}", 400)
{
    /// <summary>0-based character position in the expression.</summary>
    public int Position { get; } = position;
}
