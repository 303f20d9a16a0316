using System.Text.Json;
using Mlops.Pipelines.Configuration;
using Mlops.Pipelines.Sweeps;
using Xunit;

namespace Mlops.Pipelines.Tests.Sweeps;

public sealed class TpeSamplerTests
{
    /// <summary>Four ranges on [-5, 5]; the minimum of the quadratic is off-centre so the prior's middle does not find
    /// it.</summary>
    private static readonly SearchSpace Space = new(
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(
            """{"a":{"min":-5,"max":5},"b":{"min":-5,"max":5},"c":{"min":-5,"max":5},"d":{"min":-5,"max":5}}"""
        )!
    );

    private static readonly double[] Optimum = [1.5, -2.0, 3.0, -0.5];

    private static double Quadratic(IReadOnlyDictionary<string, JsonElement> p) =>
        new[] { "a", "b", "c", "d" }.Select((n, i) => Math.Pow(p[n].GetDouble() - Optimum[i], 2)).Sum();

    /// <summary>A sweep as the orchestrator runs it: batches proposed from the trials finished so far.</summary>
    private static List<(Dictionary<string, JsonElement> Params, double Loss)> RunBayes(
        int seed,
        int budget,
        int batch,
        TpeSettings settings
    )
    {
        var done = new List<(Dictionary<string, JsonElement> Params, double Loss)>();
        while (done.Count < budget)
        {
            var history = done.Select(t => new Observation(Space.ToInternal(t.Params)!, t.Loss)).ToList();
            foreach (
                var point in TpeSampler.Propose(
                    Space,
                    history,
                    Math.Min(batch, budget - done.Count),
                    seed,
                    done.Count,
                    settings
                )
            )
            {
                var p = Space.ToParams(null, point);
                done.Add((p, Quadratic(p)));
            }
        }
        return done;
    }

    [Fact]
    public void Propose_SameSeedAndResults_SameSequence_OtherSeed_Other()
    {
        var settings = new TpeSettings(StartupTrials: 5);
        string Sequence(int seed) => JsonSerializer.Serialize(RunBayes(seed, 20, 2, settings).Select(t => t.Params));
        Assert.Equal(Sequence(3), Sequence(3));
        Assert.NotEqual(Sequence(3), Sequence(4));
    }

    [Fact]
    public void Propose_AfterStartup_PointsStayInsideTheRanges()
    {
        var trials = RunBayes(1, 30, 3, new TpeSettings(StartupTrials: 5));
        Assert.All(trials, t => Assert.All(t.Params.Values, v => Assert.InRange(v.GetDouble(), -5, 5)));
    }

    [Fact]
    public void Propose_Batch_ConstantLiarGivesDistinctPoints()
    {
        var history = RunBayes(2, 12, 4, new TpeSettings(StartupTrials: 4))
            .Select(t => new Observation(Space.ToInternal(t.Params)!, t.Loss))
            .ToList();
        var batch = TpeSampler.Propose(Space, history, 4, 2, 12, new TpeSettings(StartupTrials: 4));
        Assert.Equal(4, batch.Select(p => string.Join(",", p.Select(x => x.ToString("R")))).Distinct().Count());
    }

    [Fact]
    public void Bayes_BeatsRandomOnA4dQuadratic_AtTheSameBudget_AveragedOverSeeds()
    {
        const int Budget = 40,
            Seeds = 12;
        var sweep = new SweepConfig
        {
            Method = "random",
            MaxTrials = Budget,
            Parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(
                """{"a":{"min":-5,"max":5},"b":{"min":-5,"max":5},"c":{"min":-5,"max":5},"d":{"min":-5,"max":5}}"""
            )!,
        };
        double bayes = 0,
            random = 0;
        int bayesWins = 0;
        for (int seed = 1; seed <= Seeds; seed++)
        {
            double b = RunBayes(seed, Budget, 4, new TpeSettings(StartupTrials: 10)).Min(t => t.Loss);
            double r = SweepPlanner.Plan(sweep, null, seed).Min(Quadratic);
            bayes += b / Seeds;
            random += r / Seeds;
            if (b < r)
                bayesWins++;
        }
        Assert.True(bayes < random * 0.6, $"mean best loss: bayes {bayes:0.###}, random {random:0.###}");
        Assert.True(bayesWins >= Seeds * 3 / 4, $"bayes won {bayesWins} of {Seeds} seeds");
    }

    [Fact]
    public void Propose_CategoricalParameter_ConcentratesOnTheGoodCategory()
    {
        var space = new SearchSpace(
            JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(
                """{"kind":["a","b","c","d"],"x":{"min":0,"max":1}}"""
            )!
        );
        var done = new List<Observation>();
        for (int i = 0; i < 40; i++)
        {
            var point = TpeSampler.Propose(space, done, 1, 9, i, new TpeSettings(StartupTrials: 8))[0];
            var p = space.ToParams(null, point);
            double loss = (p["kind"].GetString() == "c" ? 0 : 1) + p["x"].GetDouble();
            done.Add(new Observation(point, loss));
        }
        int lateC = done.Skip(20).Count(o => (int)o.Point[0] == 2);
        Assert.True(lateC >= 12, $"only {lateC} of the last 20 proposals chose the best category");
    }

    [Fact]
    public void NormalCdf_MatchesKnownValues()
    {
        Assert.Equal(0.5, TpeSampler.NormalCdf(0), 6);
        Assert.Equal(0.841345, TpeSampler.NormalCdf(1), 5);
        Assert.Equal(0.022750, TpeSampler.NormalCdf(-2), 5);
    }
}
