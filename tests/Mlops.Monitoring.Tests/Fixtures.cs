using System.Text;
using System.Text.Json;
using Mlops.Core;
using Mlops.Core.Storage;
using Mlops.Monitoring.Reference;

namespace Mlops.Monitoring.Tests;

/// <summary>Data with known distributions and prediction-log lines in the serving format.</summary>
internal static class Fixtures
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    public static double[] Normal(Random rng, int n, double mean = 0, double sd = 1)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1 - rng.NextDouble(),
                u2 = rng.NextDouble();
            a[i] = mean + sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return a;
    }

    public static double[] Sorted(double[] a)
    {
        var c = (double[])a.Clone();
        Array.Sort(c);
        return c;
    }

    /// <summary>A binary-classifier reference with numeric features x0..x(k-1) ~ N(0,1) of <paramref name="rows"/>
    /// rows, a categorical "color" and uniform scores.</summary>
    public static ReferenceProfile BinaryReference(
        int rows,
        int numericFeatures = 2,
        int seed = 1,
        ScoreCalibration? calibration = null
    )
    {
        var rng = new Random(seed);
        var features = new List<FeatureReference>();
        for (int k = 0; k < numericFeatures; k++)
            features.Add(
                FeatureSummaries.Numeric($"x{k}", Sorted(Normal(rng, rows)), rows, ReferenceProfile.ExactUpTo)
            );
        var colors = new Dictionary<string, long>
        {
            ["red"] = rows / 2,
            ["green"] = rows / 4,
            ["blue"] = rows - rows / 2 - rows / 4,
        };
        features.Add(FeatureSummaries.Categorical("color", ReferenceKind.Categorical, colors, rows));
        var scores = Sorted(Enumerable.Range(0, rows).Select(_ => rng.NextDouble()).ToArray());
        return new ReferenceProfile
        {
            Task = "binary",
            Target = "y",
            Classes = ["0", "1"],
            Rows = rows,
            CreatedUtc = T0,
            Features = features,
            Score = FeatureSummaries.Numeric("score", scores, rows, ReferenceProfile.ExactUpTo),
            PredictedLabels = FeatureSummaries.Categorical(
                "predictedLabel",
                ReferenceKind.Categorical,
                new Dictionary<string, long> { ["0"] = rows / 2, ["1"] = rows - rows / 2 },
                rows
            ),
            Calibration = calibration,
            Metrics = new Dictionary<string, double> { ["auc"] = 0.9, ["accuracy"] = 0.85 },
        };
    }

    /// <summary>One log line as PredictionLogAndShadowRunner writes it, for a binary model.</summary>
    public static string Line(
        DateTimeOffset at,
        int version,
        IReadOnlyList<Dictionary<string, object?>> rows,
        IReadOnlyList<double> scores,
        IReadOnlyList<string>? ids = null,
        bool shadow = false
    )
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
            Window.LogLineWriter.WriteBinary(
                w,
                at,
                "mdl",
                version,
                shadow,
                ids,
                iw => JsonSerializer.Serialize(iw, rows),
                scores
            );
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Appends lines to the hourly log blob of their time.</summary>
    public static async Task AppendAsync(IBlobStore blobs, DateTimeOffset at, params string[] lines) =>
        await blobs.AppendAsync(
            "predictions",
            $"mdl/{at.UtcDateTime:yyyy/MM/dd/HH}/host-0.jsonl",
            Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n")
        );

    public sealed class FixedClock(DateTimeOffset now) : IClock
    {
        public DateTimeOffset UtcNow { get; set; } = now;
    }
}
