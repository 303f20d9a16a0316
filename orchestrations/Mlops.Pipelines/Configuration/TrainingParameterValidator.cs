using System.Text.Json;
using Mlops.ML;
using Mlops.ML.Training;

namespace Mlops.Pipelines.Configuration;

/// <summary>
/// Checks a configuration's hyperparameters (<c>params</c>) when the configuration is loaded, the way training will
/// read them: unknown names and wrong types (<c>"learning_rate": "fast"</c>) are user errors that must fail the HTTP
/// start with a 400 and a drop before ingest — never a training activity after its retries.
/// </summary>
public static class TrainingParameterValidator
{
    /// <summary>One sentence per problem, naming the parameter (empty when every parameter is usable).</summary>
    /// <param name="trainer">The configuration's trainer (<c>auto</c>, <c>gbdt</c>, <c>linear</c>,
    /// <c>forest</c>).</param>
    /// <param name="parameters">The <c>params</c> section (null: none).</param>
    public static List<string> Problems(string trainer, IReadOnlyDictionary<string, JsonElement>? parameters)
    {
        var problems = new List<string>();
        if (parameters is not { Count: > 0 })
            return problems;
        if (!Enum.TryParse<TrainerKind>(trainer, ignoreCase: true, out var kind))
            return problems; // the loader reports the trainer itself
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
        {
            if (ToObject(value) is { } v)
                values[name] = v;
            else
                problems.Add($"\"params.{name}\" is {Clip(value.GetRawText())}; use a number, true/false or a string");
        }
        // Each parameter alone, so every bad one is named (training stops at the first).
        foreach (var (name, value) in values)
        {
            try
            {
                ModelTrainer.ValidateOptions(kind, new Dictionary<string, object> { [name] = value });
            }
            catch (ArgumentException e)
            {
                problems.Add($"\"params.{name}\": {e.Message.Split(" (Parameter")[0].TrimEnd('.')}");
            }
        }
        // Then together: some limits concern a combination (engine lightgbm with a non-l2 objective).
        if (problems.Count == 0)
        {
            try
            {
                ModelTrainer.ValidateOptions(kind, values);
            }
            catch (ArgumentException e)
            {
                problems.Add($"\"params\": {e.Message.Split(" (Parameter")[0].TrimEnd('.')}");
            }
        }
        return problems;
    }

    /// <summary>A JSON value as training receives it (as <c>TrainCandidate</c> converts it); null for arrays, objects
    /// and null.</summary>
    internal static object? ToObject(JsonElement e) =>
        e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String => e.GetString(),
            _ => null,
        };

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
