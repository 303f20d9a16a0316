using System.Text.Json;

namespace Mlops.Monitoring.Window;

/// <summary>
/// Writes prediction-log lines of a binary classifier in the format <c>Mlops.Serving.PredictionLogAndShadowRunner</c>
/// produces (<c>at, model, version, shadow, latencyMs, ids, inputs, outputs</c>): the one place tests and the benchmark
/// build log lines, so they exercise the reader with exactly the serving format.
/// </summary>
internal static class LogLineWriter
{
    /// <summary>Writes one line (without the newline).</summary>
    /// <param name="w">Target writer.</param>
    /// <param name="at">Request time.</param>
    /// <param name="model">Model name.</param>
    /// <param name="version">Served version.</param>
    /// <param name="shadow">Shadow line.</param>
    /// <param name="ids">Prediction ids (null: a line from a server without ids).</param>
    /// <param name="writeInputs">Writes the <c>inputs</c> array value.</param>
    /// <param name="scores">Positive-class probability per row.</param>
    public static void WriteBinary(
        Utf8JsonWriter w,
        DateTimeOffset at,
        string model,
        int version,
        bool shadow,
        IReadOnlyList<string>? ids,
        Action<Utf8JsonWriter> writeInputs,
        IReadOnlyList<double> scores
    )
    {
        w.WriteStartObject();
        w.WriteString("at", at);
        w.WriteString("model", model);
        w.WriteNumber("version", version);
        w.WriteBoolean("shadow", shadow);
        w.WriteNumber("latencyMs", 0.2);
        if (ids is not null)
        {
            w.WriteStartArray("ids");
            foreach (var id in ids)
                w.WriteStringValue(id);
            w.WriteEndArray();
        }
        w.WritePropertyName("inputs");
        writeInputs(w);
        w.WriteStartArray("outputs");
        foreach (var s in scores)
        {
            w.WriteStartObject();
            w.WriteString("label", s >= 0.5 ? "1" : "0");
            w.WriteStartObject("probabilities");
            w.WriteNumber("0", 1 - s);
            w.WriteNumber("1", s);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
