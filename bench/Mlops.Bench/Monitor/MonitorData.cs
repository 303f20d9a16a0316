using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Mlops.Core;
using Mlops.Monitoring.Reference;
using Mlops.Monitoring.Window;

namespace Mlops.Bench.Monitor;

/// <summary>
/// Builds the monitor benchmark's files once, from make_synth.py's synthetic set (28 features): the first
/// <c>refRows</c> rows are the training reference (<c>reference.csv</c> for the peer, <c>reference.json</c> for us),
/// the next <c>rows</c> rows are a day of production traffic with f0–f9 shifted by half a standard deviation, written
/// both as <c>current.csv</c> (peer) and as the prediction log, one single-row request per line, in hourly blobs.
/// </summary>
internal static class MonitorData
{
    public const string Model = "bench";
    public static readonly DateTimeOffset Start = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
    private const int Features = 28,
        Shifted = 10;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string ReferenceCsv(string dir) => Path.Combine(dir, "reference.csv");

    public static string CurrentCsv(string dir) => Path.Combine(dir, "current.csv");

    public static string ReferenceJson(string dir) => Path.Combine(dir, "reference.json");

    public static string Blobs(string dir) => Path.Combine(dir, "blobs");

    // A fixed linear "model": the score only has to be a plausible probability that moves with the inputs.
    private static double Score(ReadOnlySpan<double> x)
    {
        double z = 0;
        for (int k = 0; k < x.Length; k++)
            z += ((k % 5) - 2) * 0.3 * x[k];
        return 1 / (1 + Math.Exp(-z));
    }

    public static void Ensure(string dir, int rows, int refRows, string python, string makeSynth)
    {
        string marker = Path.Combine(dir, $"ready-{rows}-{refRows}");
        if (File.Exists(marker))
            return;
        Directory.CreateDirectory(dir);
        if (Directory.Exists(Blobs(dir)))
            Directory.Delete(Blobs(dir), recursive: true);
        string synth = Path.Combine(dir, $"synth_{rows + refRows}.csv");
        if (!File.Exists(synth))
        {
            Console.Error.WriteLine($"generating {synth} …");
            using var p = Process.Start(
                new ProcessStartInfo(python, [makeSynth, (rows + refRows).ToString(Inv), synth])
            )!;
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException("make_synth.py failed.");
        }
        Console.Error.WriteLine("writing reference, current window and prediction log …");
        using var input = new StreamReader(synth);
        string header = string.Join(",", input.ReadLine()!.Split(',').Take(Features));
        var reference = new double[Features][];
        for (int k = 0; k < Features; k++)
            reference[k] = new double[refRows];
        var refScores = new double[refRows];
        var x = new double[Features];
        using (var refCsv = new StreamWriter(ReferenceCsv(dir)))
        {
            refCsv.WriteLine(header);
            for (int i = 0; i < refRows; i++)
            {
                var fields = input.ReadLine()!.Split(',');
                for (int k = 0; k < Features; k++)
                    reference[k][i] = x[k] = double.Parse(fields[k], Inv);
                refScores[i] = Score(x);
                refCsv.WriteLine(string.Join(",", fields.Take(Features)));
            }
        }
        var std = reference
            .Select(col =>
            {
                double m = col.Average();
                return Math.Sqrt(col.Sum(v => (v - m) * (v - m)) / col.Length);
            })
            .ToArray();
        WriteProfile(dir, reference, refScores);
        WriteWindow(dir, input, header, rows, std);
        File.WriteAllText(marker, "");
    }

    private static void WriteProfile(string dir, double[][] reference, double[] scores)
    {
        int n = scores.Length;
        var features = new List<FeatureReference>();
        for (int k = 0; k < Features; k++)
        {
            Array.Sort(reference[k]);
            features.Add(FeatureSummaries.Numeric($"f{k}", reference[k], n, ReferenceProfile.ExactUpTo));
        }
        Array.Sort(scores);
        var profile = new ReferenceProfile
        {
            Task = "binary",
            Target = "target",
            Classes = ["0", "1"],
            Rows = n,
            CreatedUtc = Start.AddDays(-1),
            Features = features,
            Score = FeatureSummaries.Numeric("score", scores, n, ReferenceProfile.ExactUpTo),
            Metrics = new Dictionary<string, double> { ["auc"] = 0.9 },
        };
        File.WriteAllBytes(ReferenceJson(dir), profile.ToJson());
    }

    private static void WriteWindow(string dir, StreamReader input, string header, int rows, double[] std)
    {
        var names = Enumerable.Range(0, Features).Select(k => JsonEncodedText.Encode($"f{k}")).ToArray();
        var x = new double[Features];
        var step = TimeSpan.FromDays(1) / rows;
        using var csv = new StreamWriter(CurrentCsv(dir));
        csv.WriteLine(header);
        var line = new MemoryStream();
        FileStream? log = null;
        int hour = -1;
        for (int i = 0; i < rows; i++)
        {
            var fields = input.ReadLine()!.Split(',');
            // Six significant digits, as make_synth.py writes them; both files then carry the very same numbers.
            for (int k = 0; k < Features; k++)
                x[k] = double.Parse(
                    (double.Parse(fields[k], Inv) + (k < Shifted ? 0.5 * std[k] : 0)).ToString("G6", Inv),
                    Inv
                );
            csv.WriteLine(string.Join(",", x.Select(v => v.ToString("R", Inv))));
            var at = Start + step * i;
            if (at.Hour != hour)
            {
                log?.Dispose();
                hour = at.Hour;
                string path = Path.Combine(Blobs(dir), "predictions", Model, $"{at:yyyy/MM/dd/HH}", "host-0.jsonl");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                log = new FileStream(path, FileMode.Create);
            }
            line.SetLength(0);
            using (var w = new Utf8JsonWriter(line))
            {
                LogLineWriter.WriteBinary(
                    w,
                    at,
                    Model,
                    1,
                    shadow: false,
                    [PredictionIds.New(at)],
                    iw =>
                    {
                        iw.WriteStartArray();
                        iw.WriteStartObject();
                        for (int k = 0; k < Features; k++)
                            iw.WriteNumber(names[k], x[k]);
                        iw.WriteEndObject();
                        iw.WriteEndArray();
                    },
                    [Score(x)]
                );
            }
            line.WriteByte((byte)'\n');
            log!.Write(line.GetBuffer(), 0, (int)line.Length);
        }
        log?.Dispose();
    }
}
