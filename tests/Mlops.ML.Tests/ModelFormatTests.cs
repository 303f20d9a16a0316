using System.Text.Json;
using Mlops.ML.Models;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

public class ModelFormatTests
{
    private static Model TrainIris(TrainerKind kind) =>
        ModelTrainer
            .Train(TestData.Load("sk_iris"), new TrainingSpec("target", MlTask.Multiclass) { Trainer = kind })
            .Model;

    [Theory]
    [InlineData(TrainerKind.Gbdt)]
    [InlineData(TrainerKind.Linear)]
    public void SaveLoad_RoundTrip_PredictionsBitIdentical(TrainerKind kind)
    {
        var model = TrainIris(kind);
        var data = TestData.Load("sk_iris");
        using var ms = new MemoryStream();
        model.Save(ms);
        ms.Position = 0;
        var loaded = Model.Load(ms);
        var a = model.PredictBatch(data);
        var b = loaded.PredictBatch(data);
        Assert.Equal(a.Probabilities, b.Probabilities); // exact double equality
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(model.ToJson(), loaded.ToJson());
    }

    [Fact]
    public void ToJson_SelfDescribing_HasVersionSchemaClassesHashAndOptions()
    {
        var model = TrainIris(TrainerKind.Gbdt);
        using var doc = JsonDocument.Parse(model.ToJson());
        var root = doc.RootElement;
        Assert.Equal("mlops-model", root.GetProperty("format").GetString());
        Assert.Equal(1, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal("gbdt", root.GetProperty("trainer").GetString());
        Assert.Equal("multiclass", root.GetProperty("task").GetString());
        Assert.Equal(3, root.GetProperty("classes").GetArrayLength());
        Assert.Equal(4, root.GetProperty("inputSchema").GetArrayLength());
        Assert.StartsWith("sha256:", root.GetProperty("metadata").GetProperty("trainingDataHash").GetString());
        Assert.Equal(100, root.GetProperty("options").GetProperty("num_rounds").GetInt32());
    }

    [Fact]
    public void Load_FutureFormatVersion_ThrowsClearError()
    {
        var json = TrainIris(TrainerKind.Linear).ToJson().Replace("\"formatVersion\":1", "\"formatVersion\":99");
        var ex = Assert.Throws<MlException>(() => Model.FromJson(json));
        Assert.Equal("unsupported_version", ex.Code);
        Assert.Contains("99", ex.Message);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"format\":\"something-else\",\"formatVersion\":1}")]
    [InlineData("{\"format\":\"mlops-model\"}")]
    public void Load_InvalidFile_ThrowsModelFormat(string json)
    {
        var ex = Assert.Throws<MlException>(() => Model.FromJson(json));
        Assert.Equal("model_format", ex.Code);
    }

    [Fact]
    public void Train_SameSeedTwice_IdenticalModels()
    {
        var data = TestData.Load("sk_breast_cancer");
        var spec = new TrainingSpec("target", MlTask.Binary)
        {
            Options = new Dictionary<string, object>
            {
                ["bagging_fraction"] = 0.7,
                ["feature_fraction"] = 0.6,
                ["num_rounds"] = 30,
            },
            Seed = 7,
        };
        var a = ModelTrainer.Train(data, spec).Model;
        var b = ModelTrainer.Train(data, spec).Model;
        Assert.Equal(Strip(a.ToJson()), Strip(b.ToJson()));
        var c = ModelTrainer.Train(data, spec with { Seed = 8 }).Model;
        Assert.NotEqual(Strip(a.ToJson()), Strip(c.ToJson()));
    }

    [Fact]
    public void Train_DifferentThreadCounts_IdenticalModels()
    {
        var data = TestData.Load("sk_wine");
        Model Run(int threads) =>
            ModelTrainer
                .Train(
                    data,
                    new TrainingSpec("target", MlTask.Multiclass)
                    {
                        Options = new Dictionary<string, object> { ["threads"] = threads, ["num_rounds"] = 20 },
                    }
                )
                .Model;
        var one = Strip(Run(1).ToJson()).Replace("\"threads\":1", "");
        var two = Strip(Run(2).ToJson()).Replace("\"threads\":2", "");
        Assert.Equal(one, two);
    }

    /// <summary>Removes the creation time so two trainings can be compared byte for byte.</summary>
    private static string Strip(string json) =>
        System.Text.RegularExpressions.Regex.Replace(json, "\"createdUtc\":\"[^\"]*\"", "");

    [Fact]
    public void PredictBatch_FromMultipleThreads_SameResults()
    {
        var model = TrainIris(TrainerKind.Gbdt);
        var data = TestData.Load("sk_iris");
        var expected = model.PredictBatch(data).Probabilities;
        Parallel.For(0, 8, _ => Assert.Equal(expected, model.PredictBatch(data).Probabilities));
    }
}
