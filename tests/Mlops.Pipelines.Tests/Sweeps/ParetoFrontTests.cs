using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Sweeps;
using Xunit;

namespace Mlops.Pipelines.Tests.Sweeps;

public sealed class ParetoFrontTests
{
    private static readonly ObjectiveConfig[] AucUpLatencyDown =
    [
        new() { Metric = "auc", Goal = "max" },
        new() { Metric = "predict_latency_us", Goal = "min" },
    ];

    [Fact]
    public void Indices_KnownSet_KeepsExactlyTheNonDominatedPoints()
    {
        double[][] points =
        [
            [0.90, 50], // 0: front (fastest among the good)
            [0.95, 80], // 1: front
            [0.93, 90], // 2: dominated by 1
            [0.97, 200], // 3: front (best auc)
            [0.89, 60], // 4: dominated by 0
            [0.95, 80], // 5: equal to 1: neither dominates the other, both on the front
            [0.80, 40], // 6: front (fastest)
        ];
        Assert.Equal([0, 1, 3, 5, 6], ParetoFront.Indices(points, AucUpLatencyDown));
    }

    [Fact]
    public void Indices_MissingValue_NeverOnTheFront_AndDominatesNothing()
    {
        double[][] points =
        [
            [0.9, double.NaN],
            [0.8, 100],
        ];
        Assert.Equal([1], ParetoFront.Indices(points, AucUpLatencyDown));
    }

    [Fact]
    public void Indices_SingleObjective_IsTheBest()
    {
        double[][] points =
        [
            [3.0],
            [1.0],
            [2.0],
        ];
        Assert.Equal([1], ParetoFront.Indices(points, [new ObjectiveConfig { Metric = "rmse", Goal = "min" }]));
    }
}
