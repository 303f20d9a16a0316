using System.CommandLine;
using System.Globalization;
using Mlops.Data.Tabular;
using Mlops.ML;
using Mlops.ML.Explain;
using Mlops.ML.Models;

namespace Mlops.Cli.Commands;

/// <summary>
/// <c>mlops predict --model M DATA.csv [--out preds.csv] [--explain]</c>: writes one prediction per input row (with
/// class probabilities); <c>--explain</c> adds the exact explanation as columns: <c>base</c> and
/// <c>contribution_{column}</c> (multiclass: <c>base_{class}</c>, <c>contribution_{class}_{column}</c>), in raw output
/// space (log-odds or the value).
/// </summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var data = new Argument<string>("data")
        {
            Description = "Rows to score (CSV with a header row; the target column may be present).",
        };
        var model = new Option<string>("--model")
        {
            Description = "Model file written by 'mlops train'.",
            Required = true,
        };
        var output = new Option<string?>("--out")
        {
            Description = "Where to write predictions (CSV). Default: standard output.",
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress display." };
        var explain = new Option<bool>("--explain")
        {
            Description = "Add per-column contributions (TreeSHAP / exact linear) and the base value as columns.",
        };
        var command = new Command("predict", "Score a CSV file with a saved model.")
        {
            data,
            model,
            output,
            quiet,
            explain,
        };
        command.SetAction(parse => CliApp.Guard(parse, (stdout, stderr) =>
            {
                var m = Model.Load(parse.GetValue(model)!);
                var outPath = parse.GetValue(output);
                // Predictions on stdout are the data: progress only when they go to a file.
                var mode = CliProgress.For(stdout, parse.GetValue(quiet) || outPath is null);
                var preds = CliProgress.Run(mode, addLine =>
                {
                    var table = Read(parse.GetValue(data)!, addLine);
                    var scoring = addLine("scoring", table.RowCount);
                    var batch = m.PredictBatch(table);
                    scoring.Report(table.RowCount, rows: table.RowCount);
                    foreach (var issue in batch.Issues)
                        stderr.WriteLine($"warning: {issue.Message}");
                    var explainer = parse.GetValue(explain) ? ModelExplainer.For(m) : null;
                    var explanations = explainer?.ExplainBatch(table);
                    using var writer = outPath is null ? null : new StreamWriter(outPath);
                    Write(writer ?? stdout, m, batch, addLine("writing", batch.RowCount), explainer, explanations);
                    return batch;
                });
                if (outPath is not null)
                    stdout.WriteLine($"wrote {preds.RowCount:N0} predictions to {outPath}");
                return 0;
            }));
        return command;
    }

    /// <summary>Reads the whole file on every core (kinds inferred from every row, as training does), reporting bytes
    /// and rows read.</summary>
    private static DataTable Read(string path, Func<string, double, IProgressLine> addLine)
    {
        long length = new FileInfo(path).Length;
        var line = addLine("reading " + Path.GetFileName(path), length);
        var table = CsvTableReader.ReadFile(path, null, (bytes, rows) => line.Report(bytes, rows: rows));
        line.Report(length, rows: table.RowCount);
        return table;
    }

    private static void Write(
        TextWriter w,
        Model m,
        PredictionBatch preds,
        IProgressLine progress,
        ModelExplainer? explainer,
        Explanation[]? explanations
    )
    {
        var header = new List<string> { "prediction" };
        if (m.Task != MlTask.Regression)
            header.AddRange(m.Classes.Select(c => "probability_" + c));
        if (explainer is not null)
            header.AddRange(explainer.FlatNames);
        w.WriteLine(string.Join(",", header.Select(Quote)));
        var line = new System.Text.StringBuilder();
        for (int r = 0; r < preds.RowCount; r++)
        {
            line.Clear();
            if (m.Task == MlTask.Regression)
                line.Append(preds.Values[r].ToString("R", CultureInfo.InvariantCulture));
            else
            {
                line.Append(Quote(preds.Labels![r]!));
                for (int k = 0; k < m.Classes.Count; k++)
                    line.Append(',').Append(preds.Probability(r, k).ToString("R", CultureInfo.InvariantCulture));
            }
            if (explanations is not null)
                foreach (var v in explanations[r].Flat())
                    line.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
            w.WriteLine(line);
            if ((r & 0xFFFF) == 0xFFFF)
                progress.Report(r + 1, rows: r + 1);
        }
        progress.Report(preds.RowCount, rows: preds.RowCount);
    }

    private static string Quote(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
