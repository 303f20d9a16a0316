using Mlops.ML.Objectives;
using Xunit;

namespace Mlops.ML.Tests.Objectives;

/// <summary>IObjective.Loss is the summed term of the curve metric, as its callers (curves, early stopping) read
/// it.</summary>
public sealed class ObjectiveLossTests
{
    private static readonly double[] Scores = [1.0, 2.5, -1.0, 4.0];
    private static readonly double[] Labels = [0.0, 3.0, 2.0, 4.0];

    [Theory]
    [InlineData("l2")]
    [InlineData("l1")]
    [InlineData("huber")]
    public void Loss_RegressionObjective_SumOfSquaredErrors_TheRmseCurvesTerm(string name)
    {
        var objective = Objective.For(MlTask.Regression, 0, name, huberDelta: 0.5);

        Assert.Equal("rmse", objective.CurveMetric);
        Assert.Equal(1.0 + 0.25 + 9.0 + 0.0, objective.Loss(Scores, Labels, 0, 4), 12);
        Assert.Equal(0.25 + 9.0, objective.Loss(Scores, Labels, 1, 3), 12); // rows [from, to) only
    }

    [Fact]
    public void Loss_BinaryLogLoss_SumOfPerRowLogLoss()
    {
        var objective = Objective.For(MlTask.Binary, 2);
        double[] raw = [0.0, 2.0];
        double[] y = [1.0, 0.0];
        double expected = -Math.Log(0.5) - Math.Log(1 - 1 / (1 + Math.Exp(-2.0)));

        Assert.Equal("logloss", objective.CurveMetric);
        Assert.Equal(expected, objective.Loss(raw, y, 0, 2), 10);
    }

    [Theory]
    [InlineData("l1")]
    [InlineData("huber")]
    public void InitialScores_AbsoluteErrorObjectives_StartFromTheUpperMedian(string name)
    {
        var objective = Objective.For(MlTask.Regression, 0, name);
        Assert.Equal([3.0], objective.InitialScores([5.0, 1.0, 3.0]));
        Assert.Equal([4.0], objective.InitialScores([5.0, 1.0, 3.0, 4.0]));
    }
}
