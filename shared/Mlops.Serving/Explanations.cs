using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Mlops.ML.Explain;

namespace Mlops.Serving;

/// <summary>A servable model that can also explain its predictions (exact per-column contributions in raw output
/// space).</summary>
public interface IExplainableModel : IServableModel
{
    /// <summary>
    /// Whether explanations are available (false for tree models saved before node covers existed); when false,
    /// <see cref="Explain"/> throws a <see cref="ServingException"/> that says why.
    /// </summary>
    bool CanExplain { get; }

    /// <summary>Explains each (already validated) row into <paramref name="results"/>.</summary>
    void Explain(ReadOnlySpan<JsonElement> rows, Span<Explanation?> results);
}

/// <summary>What a predict request asked to explain: nothing, every column, or the <see cref="Top"/> largest per
/// output.</summary>
/// <param name="Enabled">Whether explanations were asked for.</param>
/// <param name="Top">Columns to keep per output by |contribution| (0 = all, in schema order).</param>
public readonly record struct ExplainRequest(bool Enabled, int Top)
{
    /// <summary>Largest accepted <c>explainTop</c>.</summary>
    public const int MaxTop = 1000;

    /// <summary>The body property (and query parameter) that asks for explanations.</summary>
    public const string BodyField = "explain";

    /// <summary>The body property (and query parameter) that keeps the top k contributions.</summary>
    public const string BodyTopField = "explainTop";

    /// <summary>
    /// Reads <c>?explain=true</c> / <c>?explainTop=k</c> and the body's <c>"explain": true</c> / <c>"explainTop": k</c>
    /// (the query wins when both are given). <c>explainTop</c> alone implies <c>explain</c>. A value that is not a
    /// boolean or a positive integer is a 400 naming the parameter.
    /// </summary>
    public static ExplainRequest Parse(IQueryCollection query, JsonElement root)
    {
        bool? enabled = null;
        int top = 0;
        if (root.ValueKind == JsonValueKind.Object)
        {
            if (root.TryGetProperty(BodyField, out var e) && e.ValueKind != JsonValueKind.Null)
                enabled = e.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw Invalid("\"explain\" must be true or false"),
                };
            if (root.TryGetProperty(BodyTopField, out var t) && t.ValueKind != JsonValueKind.Null)
                top =
                    t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out int k) && k is >= 1 and <= MaxTop
                        ? k
                        : throw Invalid($"\"explainTop\" must be an integer from 1 to {MaxTop}");
        }
        if (query.Count > 0)
        {
            if (query.TryGetValue("explain", out var qe) && qe.Count > 0 && !string.IsNullOrEmpty(qe[0]))
                enabled = qe[0]!.ToLowerInvariant() switch
                {
                    "true" or "1" => true,
                    "false" or "0" => false,
                    _ => throw Invalid($"?explain= must be true or false, got '{qe[0]}'"),
                };
            if (query.TryGetValue("explainTop", out var qt) && qt.Count > 0 && !string.IsNullOrEmpty(qt[0]))
                top =
                    int.TryParse(
                        qt[0],
                        System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture,
                        out int k
                    ) && k is >= 1 and <= MaxTop
                        ? k
                        : throw Invalid($"?explainTop= must be an integer from 1 to {MaxTop}, got '{qt[0]}'");
        }
        return new ExplainRequest(enabled ?? top > 0, enabled == false ? 0 : top);
    }

    private static ServingException Invalid(string message) => new("serving.invalid_explain", message + ".");
}

/// <summary>
/// Writes one row's explanation: <c>{"base": b, "contributions": {"col": v, …}}</c> for binary (log-odds of the
/// positive class) and regression; for multiclass <c>base</c> and <c>contributions</c> are keyed by class. With a
/// top-k, contributions are the k largest by |value| (largest first) and <c>rest</c> carries the sum of the others, so
/// base + Σ contributions + rest is still the raw score.
/// </summary>
internal static class ExplanationJson
{
    private static readonly JsonEncodedText ExplanationProp = JsonEncodedText.Encode("explanation");
    private static readonly JsonEncodedText BaseProp = JsonEncodedText.Encode("base");
    private static readonly JsonEncodedText ContributionsProp = JsonEncodedText.Encode("contributions");
    private static readonly JsonEncodedText RestProp = JsonEncodedText.Encode("rest");

    public static void Write(Utf8JsonWriter w, Explanation e, int top)
    {
        w.WriteStartObject(ExplanationProp);
        bool perClass = e.Outputs.Count > 1;
        int columns = e.Columns.Count;
        bool cut = top > 0 && top < columns;
        Span<int> order = columns <= 256 ? stackalloc int[columns] : new int[columns];
        if (!perClass)
        {
            WriteNumber(w, BaseProp, e.Base[0]);
            w.WritePropertyName(ContributionsProp);
            double rest = WriteContributions(w, e, 0, cut ? top : columns, order);
            if (cut)
                WriteNumber(w, RestProp, rest);
        }
        else
        {
            w.WriteStartObject(BaseProp);
            for (int o = 0; o < e.Outputs.Count; o++)
                WriteNumber(w, e.Outputs[o], e.Base[o]);
            w.WriteEndObject();
            w.WriteStartObject(ContributionsProp);
            Span<double> rests = stackalloc double[Math.Min(e.Outputs.Count, 256)];
            double[]? big = e.Outputs.Count > 256 ? new double[e.Outputs.Count] : null;
            for (int o = 0; o < e.Outputs.Count; o++)
            {
                w.WritePropertyName(e.Outputs[o]);
                double rest = WriteContributions(w, e, o, cut ? top : columns, order);
                if (big is not null)
                    big[o] = rest;
                else
                    rests[o] = rest;
            }
            w.WriteEndObject();
            if (cut)
            {
                w.WriteStartObject(RestProp);
                for (int o = 0; o < e.Outputs.Count; o++)
                    WriteNumber(w, e.Outputs[o], big is not null ? big[o] : rests[o]);
                w.WriteEndObject();
            }
        }
        w.WriteEndObject();
    }

    /// <summary>Writes one output's contribution object (the <paramref name="keep"/> largest, or all in schema order);
    /// returns the sum left out.</summary>
    private static double WriteContributions(Utf8JsonWriter w, Explanation e, int output, int keep, Span<int> order)
    {
        var values = e.For(output);
        for (int j = 0; j < order.Length; j++)
            order[j] = j;
        if (keep < values.Length)
        {
            // Partial selection by |value|, ties by schema order so the answer is deterministic.
            for (int i = 0; i < keep; i++)
            {
                int best = i;
                for (int j = i + 1; j < order.Length; j++)
                {
                    double a = Math.Abs(values[order[j]]),
                        b = Math.Abs(values[order[best]]);
                    if (a > b || (a == b && order[j] < order[best]))
                        best = j;
                }
                (order[i], order[best]) = (order[best], order[i]);
            }
        }
        w.WriteStartObject();
        for (int i = 0; i < keep; i++)
            WriteNumber(w, e.Columns[order[i]], values[order[i]]);
        w.WriteEndObject();
        double rest = 0;
        for (int i = keep; i < order.Length; i++)
            rest += values[order[i]];
        return rest;
    }

    private static void WriteNumber(Utf8JsonWriter w, JsonEncodedText name, double v)
    {
        if (double.IsFinite(v))
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }
}
