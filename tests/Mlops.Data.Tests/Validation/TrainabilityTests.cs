using System.Text;
using Mlops.Data.Validation;
using Mlops.Data.Versions;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Data.Tests.Validation;

/// <summary>Data that training would trip on is quarantined at validation, with a report saying why (not retried in
/// training).</summary>
public sealed class TrainabilityTests
{
    private static async Task<IngestResult> IngestAsync(string csv, LabelTask task, double testFraction = 0.2)
    {
        var store = new DatasetStore(new InMemoryBlobStore(), new InMemoryTableStore());
        return await store.IngestAsync(
            "train-check",
            Encoding.UTF8.GetBytes(csv),
            "a.csv",
            new IngestOptions("y", null, new TrainingRequirements(task, testFraction))
        );
    }

    private static string Csv(int rows, Func<int, string> label) =>
        "x,y\n" + string.Concat(Enumerable.Range(0, rows).Select(i => $"{i},{label(i)}\n"));

    private static Anomaly Only(IngestResult result, string code)
    {
        Assert.Equal(ValidationOutcome.Quarantined, result.Outcome);
        return Assert.Single(result.Report.Anomalies, a => a.Code == code);
    }

    [Fact]
    public async Task OneRow_QuarantinedStatingTheMinimum()
    {
        var a = Only(await IngestAsync(Csv(1, i => (i % 2).ToString()), LabelTask.Regression), AnomalyCodes.TooFewRows);
        Assert.Contains("at least 3", a.Message);
        Assert.Equal(3, a.Threshold);
    }

    [Fact]
    public async Task SingleClass_Quarantined()
    {
        var a = Only(await IngestAsync(Csv(50, _ => "yes"), LabelTask.Binary), AnomalyCodes.SingleClass);
        Assert.Contains("'yes'", a.Message);
    }

    [Fact]
    public async Task ThreeClassesWithBinaryTask_Quarantined()
    {
        var a = Only(
            await IngestAsync(Csv(60, i => "abc"[i % 3].ToString()), LabelTask.Binary),
            AnomalyCodes.TooManyClasses
        );
        Assert.Contains("3 classes", a.Message);
        Assert.Contains("multiclass", a.Message);
    }

    [Fact]
    public async Task ThreeClassesWithMulticlassTask_Accepted()
    {
        var result = await IngestAsync(Csv(60, i => "abc"[i % 3].ToString()), LabelTask.Multiclass);
        Assert.True(result.CanTrain, string.Join("; ", result.Report.Anomalies.Select(a => a.Message)));
    }

    [Fact]
    public async Task TextTargetWithRegressionTask_Quarantined()
    {
        var a = Only(
            await IngestAsync(Csv(60, i => i % 2 == 0 ? "high" : "low"), LabelTask.Regression),
            AnomalyCodes.LabelNotNumeric
        );
        Assert.Contains("regression", a.Message);
    }

    [Fact]
    public async Task TinyClassesForTheSplit_Quarantined()
    {
        var a = Only(await IngestAsync(Csv(2, i => i.ToString()), LabelTask.Binary), AnomalyCodes.TooFewRows);
        Assert.Contains("largest class", a.Message);
    }

    [Fact]
    public async Task HealthyBinary_Accepted()
    {
        Assert.True((await IngestAsync(Csv(40, i => (i % 2).ToString()), LabelTask.Binary)).CanTrain);
    }

    [Theory]
    [InlineData(0.2, 3)]
    [InlineData(0.5, 2)]
    [InlineData(0.1, 6)]
    public void MinRowsForSplit_LeavesOneRowEachSide(double fraction, int expected) =>
        Assert.Equal(expected, new TrainingRequirements(LabelTask.Regression, fraction).MinRowsForSplit);
}
