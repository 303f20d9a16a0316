using Mlops.Registry.Gate;
using Xunit;

namespace Mlops.Registry.Tests;

public sealed class PromotionGateTests
{
    private static ModelMetrics M(
        double value,
        string metric = "auc",
        Dictionary<string, Dictionary<string, double>>? slices = null
    ) => new(new Dictionary<string, double> { [metric] = value }, slices);

    [Fact]
    public void Decide_NoProduction_Passes()
    {
        var d = PromotionGate.Decide(M(0.7), null);
        Assert.True(d.Passed);
        Assert.Null(d.Production);
        Assert.Contains(d.Reasons, r => r.Contains("No production"));
    }

    [Fact]
    public void Decide_WorseCandidate_Fails()
    {
        var d = PromotionGate.Decide(M(0.90), M(0.92));
        Assert.False(d.Passed);
        Assert.Equal(-0.02, d.Improvement!.Value, 9);
        Assert.Contains("below the required margin", d.Reasons[0]);
    }

    [Theory]
    [InlineData(0.915, 0.01, 0, false)] // +0.005 < absolute margin 0.01
    [InlineData(0.925, 0.01, 0, true)] // +0.015 ≥ 0.01
    [InlineData(0.925, 0, 0.02, false)] // +1.6% < 2%
    [InlineData(0.94, 0, 0.02, true)] // +3.3% ≥ 2%
    public void Decide_Margins_AppliedInMetricDirection(double candidate, double abs, double rel, bool expected)
    {
        var d = PromotionGate.Decide(
            M(candidate),
            M(0.91),
            new GateOptions { MinAbsoluteImprovement = abs, MinRelativeImprovement = rel }
        );
        Assert.Equal(expected, d.Passed);
    }

    [Fact]
    public void Decide_LowerIsBetterMetric_RmseDecreasePasses()
    {
        var options = new GateOptions { PrimaryMetric = "rmse", MinAbsoluteImprovement = 0.1 };
        Assert.True(PromotionGate.Decide(M(2.5, "rmse"), M(2.8, "rmse"), options).Passed);
        Assert.False(PromotionGate.Decide(M(2.75, "rmse"), M(2.8, "rmse"), options).Passed);
        Assert.False(PromotionGate.Decide(M(3.0, "rmse"), M(2.8, "rmse"), options).Passed);
    }

    [Fact]
    public void Decide_SliceDropsTooMuch_FailsNamingSlice()
    {
        var cand = M(
            0.95,
            slices: new()
            {
                ["sex=f"] = new() { ["auc"] = 0.80 },
                ["sex=m"] = new() { ["auc"] = 0.97 },
            }
        );
        var prod = M(
            0.93,
            slices: new()
            {
                ["sex=f"] = new() { ["auc"] = 0.90 },
                ["sex=m"] = new() { ["auc"] = 0.94 },
            }
        );
        var d = PromotionGate.Decide(cand, prod, new GateOptions { MaxSliceDrop = 0.05 });
        Assert.False(d.Passed);
        Assert.Contains(d.Reasons, r => r.Contains("sex=f"));
        Assert.Equal(2, d.Slices.Count);
        Assert.False(d.Slices.Single(s => s.Slice == "sex=f").Passed);
        Assert.True(PromotionGate.Decide(cand, prod, new GateOptions { MaxSliceDrop = 0.2 }).Passed);
    }

    [Fact]
    public void Decide_MissingPrimaryMetric_Fails()
    {
        var d = PromotionGate.Decide(M(0.9, "accuracy"), M(0.8));
        Assert.False(d.Passed);
        Assert.Contains("no 'auc'", d.Reasons[0]);
    }

    [Fact]
    public void Validate_UnknownDirection_Throws() =>
        Assert.Throws<ArgumentException>(() => new GateOptions { PrimaryMetric = "my_score" }.Validate());
}
