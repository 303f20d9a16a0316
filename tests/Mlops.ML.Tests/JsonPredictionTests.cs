using System.Globalization;
using System.Text;
using System.Text.Json;
using Mlops.Data.Tabular;
using Mlops.ML.Featurization;
using Mlops.ML.Training;
using Xunit;

namespace Mlops.ML.Tests;

public class JsonPredictionTests
{
    private static DataTable Mixed()
    {
        var sb = new StringBuilder("size,color,flag,when,note,label\n");
        var rng = new Random(3);
        for (int i = 0; i < 400; i++)
        {
            double size = Math.Round(rng.NextDouble() * 10, 2);
            var color = new[] { "red", "green", "blue" }[rng.Next(3)];
            bool flag = rng.Next(2) == 0;
            var when = new DateTime(2024, 1, 1)
                .AddDays(rng.Next(300))
                .ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            bool y = size + (color == "red" ? 3 : 0) + (flag ? 1 : 0) + rng.NextDouble() * 2 > 7;
            sb.Append(
                CultureInfo.InvariantCulture,
                $"{(i % 17 == 0 ? "" : size.ToString(CultureInfo.InvariantCulture))},{color},{flag.ToString().ToLowerInvariant()},{when},note {i},{(y ? "yes" : "no")}\n"
            );
        }
        return CsvTableReader.Parse(sb.ToString());
    }

    private static string RowJson(DataTable t, int r)
    {
        var parts = new List<string>();
        foreach (var c in t.Columns)
        {
            if (c.Name == "label")
                continue;
            string v = c.Kind switch
            {
                ColumnKind.Numeric => double.IsNaN(c.Numbers![r])
                    ? "null"
                    : c.Numbers[r].ToString("R", CultureInfo.InvariantCulture),
                ColumnKind.Boolean => c.Numbers![r] != 0 ? "true" : "false",
                _ => JsonSerializer.Serialize(c.Strings![r]),
            };
            parts.Add($"{JsonSerializer.Serialize(c.Name)}:{v}");
        }
        return "{" + string.Join(",", parts) + "}";
    }

    [Theory]
    [InlineData(TrainerKind.Gbdt)]
    [InlineData(TrainerKind.Linear)]
    public void TryPredict_SameRowsAsBatch_IdenticalPredictions(TrainerKind kind)
    {
        var data = Mixed();
        var model = ModelTrainer.Train(data, new TrainingSpec("label", MlTask.Binary) { Trainer = kind }).Model;
        Assert.Equal(new[] { "no", "yes" }, model.Classes);
        var batch = model.PredictBatch(data);
        for (int r = 0; r < data.RowCount; r++)
        {
            using var doc = JsonDocument.Parse(RowJson(data, r));
            Assert.True(
                model.TryPredict(doc.RootElement, out var p, out var issues),
                string.Join("; ", issues.Select(i => i.Message))
            );
            Assert.Empty(issues);
            Assert.Equal(batch.Labels![r], p!.Label);
            Assert.Equal(batch.Probability(r, 1), p.Probabilities![1]); // bit-identical
        }
    }

    [Fact]
    public void TryPredict_StringForNumber_ErrorNamesColumn()
    {
        var model = ModelTrainer.Train(Mixed(), new TrainingSpec("label", MlTask.Binary)).Model;
        using var doc = JsonDocument.Parse(
            "{\"size\":\"big\",\"color\":\"red\",\"flag\":true,\"when\":\"2024-03-01\"}"
        );
        Assert.False(model.TryPredict(doc.RootElement, out var p, out var issues));
        Assert.Null(p);
        var e = Assert.Single(issues, i => i.IsError);
        Assert.Equal("size", e.Column);
        Assert.Equal(InputIssueKind.WrongType, e.Kind);
    }

    [Fact]
    public void TryPredict_MissingUnknownAndUnseen_WarnsAndStillPredicts()
    {
        var model = ModelTrainer.Train(Mixed(), new TrainingSpec("label", MlTask.Binary)).Model;
        using var doc = JsonDocument.Parse("{\"size\":null,\"color\":\"purple\",\"extra\":1,\"when\":\"2024-03-01\"}");
        Assert.True(model.TryPredict(doc.RootElement, out var p, out var issues));
        Assert.NotNull(p!.Label);
        Assert.Contains(issues, i => i.Kind == InputIssueKind.MissingColumn && i.Column == "flag");
        Assert.Contains(issues, i => i.Kind == InputIssueKind.UnknownColumn && i.Column == "extra");
        Assert.Contains(issues, i => i.Kind == InputIssueKind.UnseenCategory && i.Column == "color");
        Assert.DoesNotContain(issues, i => i.Column == "size"); // null is an allowed missing value
        Assert.DoesNotContain(issues, i => i.Column == "note"); // free text is not used
    }

    [Fact]
    public void PredictBatch_MissingColumnAndUnseenCategory_ReportedAsIssues()
    {
        var data = Mixed();
        var model = ModelTrainer.Train(data, new TrainingSpec("label", MlTask.Binary)).Model;
        var serving = new DataTable([Column.Numeric("size", [1, 9]), Column.Categorical("color", ["red", "magenta"])]);
        var preds = model.PredictBatch(serving);
        Assert.Equal(2, preds.RowCount);
        Assert.Contains(preds.Issues, i => i.Kind == InputIssueKind.MissingColumn && i.Column == "flag");
        Assert.Contains(preds.Issues, i => i.Kind == InputIssueKind.UnseenCategory && i.Column == "color");
    }

    [Fact]
    public void InputSchema_DescribesKindsCategoriesAndIgnoredText()
    {
        var model = ModelTrainer.Train(Mixed(), new TrainingSpec("label", MlTask.Binary)).Model;
        var schema = model.InputSchema.ToDictionary(c => c.Name);
        Assert.Equal(ColumnKind.Numeric, schema["size"].Kind);
        Assert.Equal(ColumnKind.Boolean, schema["flag"].Kind);
        Assert.Equal(ColumnKind.DateTime, schema["when"].Kind);
        Assert.Equal(new[] { "blue", "green", "red" }, schema["color"].Categories!.Order());
        Assert.False(schema["note"].Used);
        Assert.DoesNotContain("label", schema.Keys);
    }
}
