using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mlops.Data.Tabular;
using Mlops.ML.Gbdt;
using Mlops.ML.Metrics;
using Mlops.ML.Models;
using Mlops.ML.OutOfCore;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests.OutOfCore;

public sealed class OutOfCoreTrainingTests
{
    private static Dictionary<string, object> Params(params (string Key, object Value)[] values) =>
        values.ToDictionary(v => v.Key, v => v.Value);

    private static double[] Scores(Model model, DataTable data) => model.PredictBatch(data).Values;

    [Theory]
    [InlineData("sk_breast_cancer", "target", MlTask.Binary)]
    [InlineData("sk_diabetes", "target", MlTask.Regression)]
    [InlineData("sk_iris", "target", MlTask.Multiclass)]
    public void Streamed_model_equals_the_in_memory_model_when_the_sample_holds_every_row(
        string name,
        string target,
        MlTask task
    )
    {
        var spec = new TrainingSpec(target, task) { Options = Params(("engine", "mlops"), ("num_rounds", 30.0)) };
        var table = TestData.Load(name);

        var inMemory = ModelTrainer.Train(table, spec);
        var streamed = OutOfCoreTrainer.TrainFile(TestData.PathOf(name), spec, new OutOfCoreOptions { ChunkRows = 50 });

        Assert.Equal(table.RowCount, streamed.Stats.SampleRows); // every row is in the reservoir: same featurizer, same bins
        Assert.Equal(Scores(inMemory.Model, table), Scores(streamed.Result.Model, table));
        Assert.Equal(inMemory.Model.Classes, streamed.Result.Model.Classes);
    }

    [Fact]
    public void Chunk_boundaries_do_not_change_the_model()
    {
        // Early stopping on: the validation rows are carved by the hash of the row index, whatever the chunking.
        var spec = new TrainingSpec("target", MlTask.Binary)
        {
            Options = Params(("num_rounds", 40.0), ("early_stopping_rounds", 5.0), ("bin_sample_size", 1000.0)),
        };
        string path = TestData.PathOf("sk_breast_cancer");
        var table = TestData.Load("sk_breast_cancer");

        var results = new[] { 1, 7, 1_000_000 }
            .Select(chunk => OutOfCoreTrainer.TrainFile(path, spec, new OutOfCoreOptions { ChunkRows = chunk }))
            .ToArray();

        var reference = Scores(results[0].Result.Model, table);
        foreach (var r in results.Skip(1))
        {
            Assert.Equal(reference, Scores(r.Result.Model, table));
            Assert.Equal(results[0].Stats.ValidationRows, r.Stats.ValidationRows);
        }
        Assert.InRange(results[0].Stats.ValidationRows, 1, table.RowCount / 4);
    }

    [Fact]
    public void Sampled_bins_stay_within_a_tight_AUC_of_in_memory_training()
    {
        string path = WriteSynthetic(20_000, seed: 3);
        var test = CsvTableReader.ReadFile(WriteSynthetic(5_000, seed: 4));
        var options = Params(("engine", "mlops"), ("num_rounds", 60.0), ("bin_sample_size", 2000.0));
        var spec = new TrainingSpec("y", MlTask.Binary) { Options = options };

        var inMemory = ModelTrainer.Train(CsvTableReader.ReadFile(path), spec);
        var streamed = OutOfCoreTrainer.TrainFile(path, spec, new OutOfCoreOptions { ChunkRows = 3_000 });

        double aucMemory = Evaluator.Evaluate(inMemory.Model, test).Metrics["auc"];
        double aucStreamed = Evaluator.Evaluate(streamed.Result.Model, test).Metrics["auc"];
        Assert.True(aucMemory > 0.8, $"in-memory AUC {aucMemory}");
        Assert.InRange(aucStreamed - aucMemory, -0.005, 0.005);
        Assert.Equal(2000, streamed.Stats.SampleRows);
    }

    [Fact]
    public void Binned_store_is_one_byte_per_row_and_feature_and_the_sample_is_capped()
    {
        string path = WriteSynthetic(12_345, seed: 5);
        var spec = new TrainingSpec("y", MlTask.Binary)
        {
            Options = Params(("num_rounds", 5.0), ("early_stopping_rounds", 3.0), ("bin_sample_size", 1000.0)),
        };

        var stats = OutOfCoreTrainer.TrainFile(path, spec, new OutOfCoreOptions { ChunkRows = 999 }).Stats;

        Assert.Equal(12_345, stats.Rows);
        Assert.Equal(stats.Rows, stats.TrainRows + stats.ValidationRows + stats.UnlabelledRows);
        Assert.Equal(1_000, stats.SampleRows);
        Assert.Equal(4, stats.Features);
        Assert.Equal(BinnedDataset.BytesFor(stats.TrainRows + stats.ValidationRows, stats.Features), stats.BinnedBytes);
        Assert.Equal((stats.TrainRows + stats.ValidationRows) * 4L, stats.BinnedBytes);
        // The default validation fraction (0.1) is met by the hash within sampling error.
        Assert.InRange(stats.ValidationRows / (double)stats.Rows, 0.09, 0.11);
    }

    [Fact]
    public void Rows_without_a_target_are_skipped_and_the_lineage_hash_is_the_files()
    {
        string path = WriteSynthetic(3_000, seed: 6, blankTargetEvery: 10);
        var spec = new TrainingSpec("y", MlTask.Binary) { Options = Params(("num_rounds", 5.0)) };

        var result = OutOfCoreTrainer.TrainFile(path, spec, new OutOfCoreOptions { ChunkRows = 500 });

        Assert.Equal(300, result.Stats.UnlabelledRows);
        Assert.Equal(2_700, result.Stats.TrainRows);
        Assert.Equal(
            "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))),
            result.Result.Model.Metadata.TrainingDataHash
        );
        Assert.Equal("true", result.Result.Model.Metadata.Tags["training.out_of_core"]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    public void A_row_with_too_many_fields_is_reported_with_its_line(int chunkRows)
    {
        var lines = File.ReadAllLines(WriteSynthetic(200, seed: 7)).ToList();
        lines[150] += ",9"; // line 151 of the file (the header is line 1)
        string path = Path.GetTempFileName();
        File.WriteAllLines(path, lines);

        var e = Assert.Throws<CsvFormatException>(() =>
            OutOfCoreTrainer.TrainFile(
                path,
                new TrainingSpec("y", MlTask.Binary),
                new OutOfCoreOptions { ChunkRows = chunkRows }
            )
        );

        Assert.Equal(151, e.Line);
        Assert.StartsWith("Line 151", e.Message);
    }

    [Fact]
    public void Text_in_a_numeric_column_after_the_first_chunk_is_reported_with_its_line_and_column()
    {
        var lines = File.ReadAllLines(WriteSynthetic(200, seed: 8)).ToList();
        var fields = lines[120].Split(',');
        fields[1] = "oops";
        lines[120] = string.Join(',', fields);
        string path = Path.GetTempFileName();
        File.WriteAllLines(path, lines);

        var e = Assert.Throws<CsvFormatException>(() =>
            OutOfCoreTrainer.TrainFile(
                path,
                new TrainingSpec("y", MlTask.Binary),
                new OutOfCoreOptions { ChunkRows = 50 }
            )
        );

        Assert.Equal(121, e.Line);
        Assert.Equal("x1", e.ColumnName);
    }

    [Fact]
    public void Options_that_need_the_whole_table_are_refused_up_front()
    {
        string path = WriteSynthetic(100, seed: 9);
        Assert.Throws<ArgumentException>(() =>
            OutOfCoreTrainer.TrainFile(path, new TrainingSpec("y", MlTask.Binary) { Trainer = TrainerKind.Linear })
        );
        Assert.Throws<ArgumentException>(() =>
            OutOfCoreTrainer.TrainFile(
                path,
                new TrainingSpec("y", MlTask.Binary) { Options = Params(("engine", "lightgbm")) }
            )
        );
        Assert.Throws<ArgumentException>(() =>
            OutOfCoreTrainer.TrainFile(
                path,
                new TrainingSpec("y", MlTask.Binary) { Threshold = ThresholdRule.Parse("auto") }
            )
        );
        var missing = Assert.Throws<MlException>(() =>
            OutOfCoreTrainer.TrainFile(path, new TrainingSpec("label", MlTask.Binary))
        );
        Assert.Contains("'label'", missing.Message);
    }

    [Fact]
    public void The_streamed_model_round_trips_through_the_model_format()
    {
        string path = WriteSynthetic(2_000, seed: 10);
        var table = CsvTableReader.ReadFile(path);
        var model = ModelTrainer
            .TrainFile(path, new TrainingSpec("y", MlTask.Binary) { Options = Params(("num_rounds", 10.0)) })
            .Model;

        var reloaded = Model.FromJson(model.ToJson());

        Assert.Equal(Scores(model, table), Scores(reloaded, table));
    }

    [Fact]
    public void The_validation_hash_is_seeded_and_hits_the_fraction()
    {
        int a = 0,
            same = 0;
        for (long row = 0; row < 100_000; row++)
        {
            bool x = OutOfCoreTrainer.IsValidationRow(row, 42, 0.2);
            if (x)
                a++;
            if (x == OutOfCoreTrainer.IsValidationRow(row, 43, 0.2))
                same++;
        }
        Assert.InRange(a, 19_500, 20_500);
        Assert.InRange(same, 66_000, 70_000); // independent seeds agree on 0.8² + 0.2² = 68% of rows
        Assert.False(OutOfCoreTrainer.IsValidationRow(5, 42, 0));
    }

    /// <summary>A seeded binary set: 3 numeric features and a category; y depends on x0, x1 and the category.</summary>
    private static string WriteSynthetic(int rows, int seed, int blankTargetEvery = 0)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("x0,x1,x2,cat,y\n");
        string[] cats = ["a", "b", "c", "d"];
        for (int i = 0; i < rows; i++)
        {
            double x0 = rng.NextDouble() * 4 - 2,
                x1 = rng.NextDouble() * 4 - 2,
                x2 = rng.NextDouble();
            int c = rng.Next(4);
            double logit = 1.5 * x0 - x1 * x1 + (c == 2 ? 1.0 : 0) + 0.5;
            int y = rng.NextDouble() < 1 / (1 + Math.Exp(-logit)) ? 1 : 0;
            string label =
                blankTargetEvery > 0 && i % blankTargetEvery == 0 ? "" : y.ToString(CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"{x0:R},{x1:R},{x2:R},{cats[c]},{label}\n");
        }
        string path = Path.Combine(
            Path.GetTempPath(),
            $"mlops-ooc-{seed}-{rows}-{blankTargetEvery}-{Guid.NewGuid():N}.csv"
        );
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
