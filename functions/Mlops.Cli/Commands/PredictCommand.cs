using System.CommandLine;
using System.Globalization;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Models;

namespace Mlops.Cli.Commands;

/// <summary><c>mlops predict --model M DATA.csv [--out preds.csv]</c>: writes one prediction per input row (with class probabilities).</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var data = new Argument<string>("data") { Description = "Rows to score (CSV with a header row; the target column may be present)." };
        var model = new Option<string>("--model") { Description = "Model file written by 'mlops train'.", Required = true };
        var output = new Option<string?>("--out") { Description = "Where to write predictions (CSV). Default: standard output." };
        var command = new Command("predict", "Score a CSV file with a saved model.") { data, model, output };
        command.SetAction(parse => CliApp.Guard(parse, (stdout, stderr) =>
        {
            var m = Model.Load(parse.GetValue(model)!);
            var table = CsvTableReader.ReadFile(parse.GetValue(data)!);
            var preds = m.PredictBatch(table);
            foreach (var issue in preds.Issues) stderr.WriteLine($"warning: {issue.Message}");
            var outPath = parse.GetValue(output);
            using var writer = outPath is null ? null : new StreamWriter(outPath);
            var w = writer ?? stdout;
            Write(w, m, preds);
            if (outPath is not null) stdout.WriteLine($"wrote {preds.RowCount:N0} predictions to {outPath}");
            return 0;
        }));
        return command;
    }

    private static void Write(TextWriter w, Model m, PredictionBatch preds)
    {
        var header = new List<string> { "prediction" };
        if (m.Task != MlTask.Regression) header.AddRange(m.Classes.Select(c => "probability_" + c));
        w.WriteLine(string.Join(",", header.Select(Quote)));
        var line = new System.Text.StringBuilder();
        for (int r = 0; r < preds.RowCount; r++)
        {
            line.Clear();
            if (m.Task == MlTask.Regression) line.Append(preds.Values[r].ToString("R", CultureInfo.InvariantCulture));
            else
            {
                line.Append(Quote(preds.Labels![r]!));
                for (int k = 0; k < m.Classes.Count; k++) line.Append(',').Append(preds.Probability(r, k).ToString("R", CultureInfo.InvariantCulture));
            }
            w.WriteLine(line);
        }
    }

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
