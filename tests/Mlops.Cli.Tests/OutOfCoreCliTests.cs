using System.Text.Json;
using Xunit;

namespace Mlops.Cli.Tests;

public class OutOfCoreCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void Train_OutOfCore_StreamsTheFile_AndTestsOnTheTestFile()
    {
        var dir = Directory.CreateTempSubdirectory("mlops-cli-ooc-").FullName;
        var model = Path.Combine(dir, "m.json");
        string data = TestData.PathOf("sk_breast_cancer");

        var (code, stdout, stderr) = Run(
            "train",
            data,
            "--target",
            "target",
            "--task",
            "binary",
            "--test",
            data,
            "--out-of-core",
            "--out",
            model,
            "--json",
            "-p",
            "num_rounds=20"
        );

        Assert.True(code == 0, stderr);
        var doc = JsonDocument.Parse(stdout).RootElement;
        var stats = doc.GetProperty("out_of_core");
        Assert.Equal(569, stats.GetProperty("rows").GetInt64());
        Assert.Equal(569L * stats.GetProperty("features").GetInt64(), stats.GetProperty("binned_bytes").GetInt64());
        Assert.True(doc.GetProperty("metrics").GetProperty("auc").GetDouble() > 0.97);
        Assert.Equal("true", Mlops.ML.Models.Model.Load(model).Metadata.Tags["training.out_of_core"]);
    }

    [Fact]
    public void Train_OutOfCoreFalse_LoadsTheTable_AndSmallFilesStayInMemoryByDefault()
    {
        string data = TestData.PathOf("sk_breast_cancer");
        var dir = Directory.CreateTempSubdirectory("mlops-cli-ooc-").FullName;
        foreach (var choice in new[] { new[] { "--out-of-core", "false" }, Array.Empty<string>() })
        {
            var (code, stdout, stderr) = Run([
                "train",
                data,
                "--target",
                "target",
                "--task",
                "binary",
                "--out",
                Path.Combine(dir, "m.json"),
                "--json",
                "-p",
                "num_rounds=5",
                .. choice,
            ]);
            Assert.True(code == 0, stderr);
            var doc = JsonDocument.Parse(stdout).RootElement;
            Assert.Equal(JsonValueKind.Null, doc.GetProperty("out_of_core").ValueKind); // in memory: an 80/20 split of the file, no streaming stats
            Assert.Equal(569 - doc.GetProperty("test_rows").GetInt64(), doc.GetProperty("train_rows").GetInt64());
        }
    }

    [Fact]
    public void Train_OutOfCore_WithoutATestFile_SaysWhy()
    {
        var (code, _, stderr) = Run(
            "train",
            TestData.PathOf("sk_breast_cancer"),
            "--target",
            "target",
            "--task",
            "binary",
            "--out-of-core"
        );

        Assert.NotEqual(0, code);
        Assert.Contains("--test", stderr);
    }
}
