using Mlops.Tracking.Query;
using Xunit;

namespace Mlops.Tracking.Tests;

public sealed class RunFilterTests
{
    private static readonly RunRecord Small = Runs.Make(
        "p1-t0",
        new
        {
            num_leaves = 31,
            objective = "binary",
            bagging = true,
        },
        new() { ["auc"] = 0.95, ["logloss"] = 0.2 },
        curves: new() { ["logloss"] = new CurveSummary(0.18, 0.2, 0.18, 0.69, 40) }
    );
    private static readonly RunRecord Large = Runs.Make(
        "p1-t1",
        new { num_leaves = 127, objective = "huber" },
        new() { ["auc"] = 0.85 },
        status: RunStatus.Pruned
    );
    private static readonly RunRecord NoParams = Runs.Make(
        "p2-t0",
        metrics: new() { ["auc"] = 0.99 },
        dataset: "iris",
        sweepMethod: null
    );

    private static string[] Matching(string expression) =>
        new[] { Small, Large, NoParams }.Where(RunFilter.Parse(expression).Matches).Select(r => r.RunId).ToArray();

    [Theory]
    [InlineData("metrics.auc > 0.9 and params.num_leaves < 64", new[] { "p1-t0" })]
    [InlineData("metrics.auc > 0.9", new[] { "p1-t0", "p2-t0" })]
    [InlineData("metrics.auc >= 0.95", new[] { "p1-t0", "p2-t0" })]
    [InlineData("metrics.auc <= 0.85 or dataset = 'iris'", new[] { "p1-t1", "p2-t0" })]
    [InlineData("not status = 'completed'", new[] { "p1-t1" })]
    [InlineData("status = \"PRUNED\"", new[] { "p1-t1" })]
    [InlineData("params.objective != 'binary'", new[] { "p1-t1" })] // a run without the param does not match either way
    [InlineData("params.bagging = true", new[] { "p1-t0" })]
    [InlineData("curves.logloss.best < 0.19 and curves.logloss.bestRound = 40", new[] { "p1-t0" })]
    [InlineData("pipeline = 'p1' and (params.num_leaves > 100 or metrics.logloss < 0.5)", new[] { "p1-t0", "p1-t1" })]
    [InlineData(
        "metrics.auc > 0.9 and (dataset = 'bc' or dataset = 'iris') and not params.num_leaves = 31",
        new[] { "p2-t0" }
    )]
    [InlineData("metrics.auc > 9e-1", new[] { "p1-t0", "p2-t0" })]
    [InlineData("metrics.logloss == 0.2", new[] { "p1-t0" })]
    [InlineData("  ", new[] { "p1-t0", "p1-t1", "p2-t0" })]
    public void Parse_Expression_MatchesExactlyTheRunsThatSatisfyIt(string expression, string[] expected) =>
        Assert.Equal(expected, Matching(expression));

    [Fact]
    public void Parse_AndBindsTighterThanOr()
    {
        // a or (b and c), not (a or b) and c: NoParams matches the first only.
        Assert.Equal(["p1-t1", "p2-t0"], Matching("dataset = 'iris' or status = 'pruned' and metrics.auc < 0.9"));
        Assert.Equal(["p1-t1"], Matching("(dataset = 'iris' or status = 'pruned') and metrics.auc < 0.9"));
    }

    [Fact]
    public void Parse_BacktickedNameAndDoubledQuote_AreRead()
    {
        var run = Runs.Make("p-t0", new Dictionary<string, object> { ["min-child"] = 5, ["name"] = "it's" });
        Assert.True(RunFilter.Parse("params.`min-child` = 5 and params.name = 'it''s'").Matches(run));
    }

    [Theory]
    [InlineData("metrics.auc >", 13, "expected a number")]
    [InlineData("metrics.auc > 0.9 and", 21, "expected a field")]
    [InlineData("metrics.auc 0.9", 12, "expected a comparison")]
    [InlineData("(metrics.auc > 0.9", 18, "expected ')'")]
    [InlineData("metrics.auc > 0.9 params.x = 1", 18, "unexpected 'params.x'")]
    [InlineData("metric.auc > 1", 0, "Unknown field 'metric.auc'")]
    [InlineData("curves.logloss > 1", 0, "needs a part")]
    [InlineData("metrics.auc > 'x", 14, "unterminated string")]
    [InlineData("metrics.auc ! 1", 12, "'!' must be followed by '='")]
    [InlineData("metrics.auc > 1.2.3", 14, "not a number")]
    [InlineData("metrics.auc > 1 # 2", 16, "unexpected character '#'")]
    public void Parse_BadExpression_ThrowsWithThePosition(string expression, int position, string message)
    {
        var e = Assert.Throws<FilterSyntaxException>(() => RunFilter.Parse(expression));
        Assert.Equal(position, e.Position);
        Assert.Equal(400, e.Status);
        Assert.Contains(message, e.Message);
        Assert.Contains($"position {position}", e.Message);
    }
}
