using System.Text.Json;
using Xunit;

namespace Mlops.Cli.Tests;

public class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Train_Json_PrintsMetricsAndWritesModel_ThenPredictWritesCsv()
    {
        var (dir, model, doc) = TrainBreastCancerJson("--seed", "1");
        Assert.True(doc.RootElement.GetProperty("metrics").GetProperty("auc").GetDouble() > 0.97);
        Assert.Equal("auc", doc.RootElement.GetProperty("primary_metric").GetString());
        Assert.True(File.Exists(model));

        var preds = Path.Combine(dir, "p.csv");
        var (code, _, stderr) = Run("predict", "--model", model, TestData.PathOf("sk_breast_cancer"), "--out", preds);
        Assert.True(code == 0, stderr);
        var lines = File.ReadAllLines(preds);
        Assert.Equal("prediction,probability_0,probability_1", lines[0]);
        Assert.Equal(570, lines.Length);
    }

    [Fact]
    public void Predict_Explain_AddsBaseAndContributionColumnsThatSumToTheLogOdds()
    {
        var (dir, model, _) = TrainBreastCancerJson("--seed", "2");
        var preds = Path.Combine(dir, "explained.csv");
        var (code, _, stderr) = Run(
            "predict",
            "--model",
            model,
            TestData.PathOf("sk_breast_cancer"),
            "--out",
            preds,
            "--explain"
        );
        Assert.True(code == 0, stderr);
        var lines = File.ReadAllLines(preds);
        var header = lines[0].Split(',');
        Assert.Equal(["prediction", "probability_0", "probability_1", "base"], header.Take(4));
        Assert.Equal(4 + 30, header.Length);
        Assert.Contains("contribution_mean radius", header);
        foreach (var line in lines.Skip(1).Take(50))
        {
            var cells = line.Split(',');
            double p = double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture);
            double raw = cells.Skip(3).Sum(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(Math.Log(p / (1 - p)), raw, 6);
        }
    }

    private static (string Dir, string Model, JsonDocument Output) TrainBreastCancerJson(params string[] extra)
    {
        var dir = Directory.CreateTempSubdirectory("mlops-cli-").FullName;
        var model = Path.Combine(dir, "m.json");
        var (code, stdout, stderr) = Run([
            "train",
            TestData.PathOf("sk_breast_cancer"),
            "--target",
            "target",
            "--task",
            "binary",
            "--out",
            model,
            "--json",
            .. extra,
        ]);
        Assert.True(code == 0, stderr);
        return (dir, model, JsonDocument.Parse(stdout));
    }

    [Fact]
    public void Train_AutoThreshold_ThenExportOnnx_WritesGraphMatchingModel()
    {
        var (dir, model, doc) = TrainBreastCancerJson("--threshold", "auto:accuracy");
        Assert.True(
            doc.RootElement.TryGetProperty("metrics_at_0.5", out _)
                || doc.RootElement.GetProperty("threshold").GetDouble() == 0.5
        );

        var onnx = Path.Combine(dir, "m.onnx");
        var (code, stdout, stderr) = Run("export", "--model", model, "--format", "onnx", "--out", onnx);
        Assert.True(code == 0, stderr);
        Assert.Contains("outputs label, probabilities", stdout);
        var loaded = Mlops.ML.Models.Model.Load(model);
        // The command writes exactly the exporter's graph; that the graph predicts as the model does (threshold
        // included) is the exporter's own test (Mlops.ML.Tests: OnnxExportTests).
        Assert.Equal(Mlops.ML.Onnx.OnnxExporter.Export(loaded), File.ReadAllBytes(onnx));
    }

    [Fact]
    public void Export_DateTimeInput_FailsWithMessage()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-cli-").FullName;
        var data = Path.Combine(dir, "d.csv");
        File.WriteAllLines(
            data,
            ["when,x,y", .. Enumerable.Range(0, 60).Select(i => $"2026-01-{i % 28 + 1:D2},{i},{i % 2}")]
        );
        var model = Path.Combine(dir, "m.json");
        Assert.Equal(0, Run("train", data, "--target", "y", "--task", "binary", "--out", model).Code);
        var (code, _, stderr) = Run("export", "--model", model, "--out", Path.Combine(dir, "m.onnx"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("date/time", stderr);
    }

    [Fact]
    public void Train_TextOutputWithTestFileAndParams_ShowsPrimaryMetric()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-cli-").FullName;
        var (code, stdout, stderr) = Run(
            "train",
            TestData.PathOf("sk_diabetes"),
            "--target",
            "target",
            "--task",
            "regression",
            "--test",
            TestData.PathOf("sk_diabetes"),
            "-p",
            "num_rounds=20",
            "--out",
            Path.Combine(dir, "m.json")
        );
        Assert.True(code == 0, stderr);
        Assert.Contains("rmse", stdout);
        Assert.Contains("(primary)", stdout);
    }

    [Fact]
    public void Train_MissingFile_CleanErrorNonZeroExit()
    {
        var (code, _, stderr) = Run("train", "/no/such/file.csv", "--target", "y", "--task", "binary");
        Assert.NotEqual(0, code);
        Assert.StartsWith("error:", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Train_MalformedCsv_ReportsLine()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlops-cli-").FullName, "bad.csv");
        File.WriteAllText(path, "a,b,y\n1,2,0\n3,4\n");
        var (code, _, stderr) = Run("train", path, "--target", "y", "--task", "binary");
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("Line 3", stderr);
    }

    [Fact]
    public void Train_BadParam_CleanError()
    {
        var (code, _, stderr) = Run(
            "train",
            TestData.PathOf("sk_iris"),
            "--target",
            "target",
            "--task",
            "multiclass",
            "-p",
            "num_leaves=1",
            "--out",
            Path.GetTempFileName()
        );
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("num_leaves", stderr);
    }

    [Fact]
    public void Predict_FutureModelVersion_CleanError()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "{\"format\":\"mlops-model\",\"formatVersion\":42}");
        var (code, _, stderr) = Run("predict", "--model", path, TestData.PathOf("sk_iris"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("version 42", stderr);
    }

    [Fact]
    public void Train_UnknownTask_ParseErrorNonZero()
    {
        var (code, _, _) = Run("train", TestData.PathOf("sk_iris"), "--target", "target", "--task", "ranking");
        Assert.NotEqual(0, code);
    }
}
