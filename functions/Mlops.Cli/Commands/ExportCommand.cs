using System.CommandLine;
using Mlops.ML.Models;
using Mlops.ML.Onnx;

namespace Mlops.Cli.Commands;

/// <summary><c>mlops export --model model.json --format onnx --out model.onnx</c>: writes the model in a format other
/// runtimes serve.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Model file written by 'mlops train'.",
            Required = true,
        };
        var format = new Option<string>("--format")
        {
            Description = "Output format (onnx).",
            DefaultValueFactory = _ => "onnx",
        };
        format.AcceptOnlyFromAmong("onnx");
        var output = new Option<string>("--out")
        {
            Description = "Where to write the exported model (default model.onnx).",
            DefaultValueFactory = _ => "model.onnx",
        };
        var command = new Command(
            "export",
            "Export a saved model as an ONNX-ML graph (inputs named as the columns; outputs label and probabilities)."
        )
        {
            model,
            format,
            output,
        };
        command.SetAction(parse => CliApp.Guard(parse, (stdout, _) =>
            {
                var m = Model.Load(parse.GetValue(model)!);
                var outPath = parse.GetValue(output)!;
                OnnxExporter.Export(m, outPath);
                stdout.WriteLine(
                    $"wrote {outPath} ({new FileInfo(outPath).Length:N0} bytes): inputs {string.Join(", ", m.InputSchema.Where(c => c.Used).Select(c => c.Name))}; outputs label{(m.Task == Mlops.ML.MlTask.Regression ? "" : ", probabilities")}"
                );
                return 0;
            }));
        return command;
    }
}
