using System.Text;
using Mlops.Data.Versions;
using Mlops.Pipelines.Activities;
using Mlops.Storage.InMemory;
using Xunit;

namespace Mlops.Pipelines.Tests;

/// <summary>
/// The gate's trusted evidence is data the feedback path cannot write: held-out rows of accepted versions only, and
/// feedback rows capped to a share of the training rows.
/// </summary>
public class TrainingDataSplitTests
{
    /// <summary>An accepted version of 500 rows with x in [0, 1) and a feedback blob of 400 rows whose x is 1000 + i
    /// (so every row says where it came from).</summary>
    private static async Task<(TrainingData Data, string[] Hashes)> AcceptedPlusFeedbackAsync()
    {
        var blobs = new InMemoryBlobStore();
        var datasets = new DatasetStore(blobs, new InMemoryTableStore());
        var accepted = new StringBuilder("x,y\n");
        for (int i = 0; i < 500; i++)
            accepted.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i / 500.0},{i % 2}\n");
        string hash = (await datasets.IngestAsync("cells", Encoding.UTF8.GetBytes(accepted.ToString()))).Hash;
        var feedback = new StringBuilder("x,y\n");
        for (int i = 0; i < 400; i++)
            feedback.Append(System.Globalization.CultureInfo.InvariantCulture, $"{1000 + i},0\n");
        await blobs.WriteAsync(
            Mlops.Monitoring.Feedback.FeedbackStore.DefaultContainer,
            "cells/training/run.csv",
            Encoding.UTF8.GetBytes(feedback.ToString())
        );
        return (new TrainingData(datasets, blobs), [hash, TrainingData.FeedbackRowsPrefix + "cells/training/run.csv"]);
    }

    private static int FeedbackRows(Mlops.Data.Tabular.DataTable t) => t.Find("x")!.Numbers!.Count(v => v >= 1000);

    [Fact]
    public async Task LoadSplitAsync_WithFeedback_TestHoldsAcceptedRowsOnly_FeedbackScoredApart()
    {
        var (data, hashes) = await AcceptedPlusFeedbackAsync();

        var split = await data.LoadSplitAsync("cells", hashes, 0.2, 7, 1.0);

        Assert.Equal(100, split.Test.RowCount);
        Assert.Equal(0, FeedbackRows(split.Test)); // before: the shared split mixed feedback rows into the gate's test set
        Assert.Equal(80, split.FeedbackTest!.RowCount);
        Assert.Equal(80, FeedbackRows(split.FeedbackTest));
        Assert.Equal(400 + 320, split.Train.RowCount);
        Assert.Equal((400, 320), (split.FeedbackRowsOffered, split.FeedbackRowsUsed));
    }

    [Theory]
    [InlineData(0.2, 100)] // 400 accepted training rows: 100 feedback rows are 20% of 500
    [InlineData(0.0, 0)]
    [InlineData(0.5, 320)] // the cap (400) is above what is offered (320 after the hold-out)
    public async Task LoadSplitAsync_FeedbackShareCapped(double share, int expectedFeedback)
    {
        var (data, hashes) = await AcceptedPlusFeedbackAsync();

        var split = await data.LoadSplitAsync("cells", hashes, 0.2, 7, share);

        Assert.Equal(expectedFeedback, FeedbackRows(split.Train));
        Assert.Equal(expectedFeedback, split.FeedbackRowsUsed);
        Assert.True(FeedbackRows(split.Train) <= share * split.Train.RowCount + 1e-9);
        // The same arguments give the same rows (Train, Evaluate and Register each load the split themselves).
        var again = await data.LoadSplitAsync("cells", hashes, 0.2, 7, share);
        Assert.Equal(split.Train.Find("x")!.Numbers!, again.Train.Find("x")!.Numbers!);
    }

    [Fact]
    public async Task LoadSplitAsync_FeedbackOnly_Refused()
    {
        var (data, hashes) = await AcceptedPlusFeedbackAsync();
        var e = await Assert.ThrowsAsync<Mlops.Core.Errors.MlopsException>(() =>
            data.LoadSplitAsync("cells", [hashes[1]], 0.2, 7, 0.2)
        );
        Assert.Equal("training.no_accepted_data", e.Code);
    }

    [Fact]
    public void MaxFeedbackShare_FromMonitoringSection_DefaultTwoTenths()
    {
        Assert.Equal(0.2, TrainingData.MaxFeedbackShare(new Mlops.Pipelines.Configuration.PipelineConfig()));
        var monitoring = System
            .Text.Json.JsonDocument.Parse(
                """
                {"retrain":{"when":[{"signal":"new_labels","count":10}],"trainOn":"accepted+feedback","maxFeedbackShare":0.05}}
                """
            )
            .RootElement.Clone();
        Assert.Equal(
            0.05,
            TrainingData.MaxFeedbackShare(new Mlops.Pipelines.Configuration.PipelineConfig { Monitoring = monitoring })
        );
    }
}
