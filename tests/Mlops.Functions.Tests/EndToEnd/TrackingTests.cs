using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mlops.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>
/// Experiment tracking end to end on Azurite: a pipeline with a 6-trial random sweep indexes its runs as they finish;
/// the runs API lists, filters, compares and groups them from the index, and a run's page has its curve and evaluation.
/// </summary>
public sealed class TrackingTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    private const string SweepConfig = """
        {"target":"target","task":"binary","trainer":"gbdt","params":{"num_rounds":25},
         "sweep":{"method":"random","maxTrials":6,"parallelism":3,"parameters":{"num_leaves":[4,8,16,31],"learning_rate":{"min":0.03,"max":0.3,"log":true}}}}
        """;

    [Fact]
    public async Task SweepOfSixTrials_IsListedFilteredComparedAndGrouped()
    {
        byte[] data = File.ReadAllBytes(
            Path.Combine(AzuriteInstance.RepoRoot(), "tests", "data", "sk_breast_cancer.csv")
        );
        await host.DropAsync("tracked", "data.csv", data, SweepConfig);
        var status = await host.WaitForDropRunAsync("tracked", "data.csv", TimeSpan.FromSeconds(180));
        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        string pipeline = status.GetProperty("instanceId").GetString()!;

        // Listing: the six trials of this pipeline, from the index table.
        var list = await Get($"/api/runs?pipeline={pipeline}&orderBy=metrics.auc%20desc");
        Assert.Equal(6, list.GetProperty("total").GetInt32());
        var runs = list.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(6, runs.Count);
        var aucs = runs.Select(r => r.GetProperty("metrics").GetProperty("auc").GetDouble()).ToList();
        Assert.Equal(aucs.OrderByDescending(a => a), aucs);
        foreach (var r in runs)
        {
            Assert.Equal("tracked", r.GetProperty("dataset").GetString());
            Assert.Equal(pipeline, r.GetProperty("pipeline").GetString());
            Assert.Equal("random", r.GetProperty("sweepMethod").GetString());
            Assert.Equal("completed", r.GetProperty("status").GetString());
            Assert.Equal("gbdt", r.GetProperty("trainer").GetString());
            var logloss = r.GetProperty("curves").GetProperty("logloss");
            Assert.True(logloss.GetProperty("best").GetDouble() <= logloss.GetProperty("last").GetDouble());
        }
        Assert.Contains(
            "num_leaves",
            list.GetProperty("columns").GetProperty("params").EnumerateArray().Select(e => e.GetString())
        );
        Assert.Equal(6, (await Get("/api/runs?dataset=tracked")).GetProperty("total").GetInt32());

        // A filter narrows them to exactly the runs that satisfy it.
        double median = aucs.Order().ElementAt(3);
        int expected = runs.Count(r =>
            r.GetProperty("params").GetProperty("num_leaves").GetDouble() < 16
            && r.GetProperty("metrics").GetProperty("auc").GetDouble() >= median
        );
        var filtered = await Get(
            $"/api/runs?pipeline={pipeline}&filter={Uri.EscapeDataString($"params.num_leaves < 16 and metrics.auc >= {median:R}")}"
        );
        Assert.Equal(expected, filtered.GetProperty("total").GetInt32());
        Assert.All(filtered.GetProperty("runs").EnumerateArray(), r =>
            Assert.True(r.GetProperty("params").GetProperty("num_leaves").GetDouble() < 16)
        );
        var bad = await host.Http.GetAsync("/api/runs?filter=" + Uri.EscapeDataString("metrics.auc >"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var badError = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("runs.bad_filter", badError.GetProperty("code").GetString());
        Assert.Contains("position 13", badError.GetProperty("message").GetString());

        // Compare: only the params that differ, with each run's value; metrics at a chosen step; ROC points.
        var (a, b) = (runs[0], runs[^1]);
        string idA = a.GetProperty("runId").GetString()!,
            idB = b.GetProperty("runId").GetString()!;
        var compare = await Get($"/api/runs/compare?ids={idA},{idB}&step=10");
        var differing = compare
            .GetProperty("paramDiff")
            .EnumerateArray()
            .Select(d => d.GetProperty("param").GetString()!)
            .ToHashSet();
        var expectedDiff = a.GetProperty("params")
            .EnumerateObject()
            .Where(p => p.Value.GetRawText() != b.GetProperty("params").GetProperty(p.Name).GetRawText())
            .Select(p => p.Name)
            .ToHashSet();
        Assert.Equal(expectedDiff, differing);
        Assert.DoesNotContain("num_rounds", differing);
        Assert.All(compare.GetProperty("metricsAtStep").EnumerateArray(), m =>
            Assert.Equal(10, m.GetProperty("round").GetInt32())
        );
        Assert.All(compare.GetProperty("runs").EnumerateArray(), r =>
            Assert.True(r.GetProperty("roc").GetArrayLength() > 2)
        );

        // Groups: one group of six for the pipeline, mean and std matching the listed metrics.
        var groups = await Get(
            $"/api/runs/groups?by=pipeline&filter={Uri.EscapeDataString($"pipeline = '{pipeline}'")}"
        );
        var group = Assert.Single(groups.GetProperty("groups").EnumerateArray());
        Assert.Equal(6, group.GetProperty("count").GetInt32());
        var stats = group.GetProperty("metrics").GetProperty("auc");
        double mean = aucs.Average(),
            std = Math.Sqrt(aucs.Sum(x => (x - mean) * (x - mean)) / 5);
        Assert.Equal(mean, stats.GetProperty("mean").GetDouble(), 12);
        Assert.Equal(std, stats.GetProperty("std").GetDouble(), 12);
        Assert.Equal(aucs.Max(), stats.GetProperty("max").GetDouble());

        // One run in full: curve per round, evaluation curves, importance, lineage.
        var run = await Get($"/api/runs/{idA}");
        output.WriteLine(run.ToString()[..Math.Min(2000, run.ToString().Length)]);
        Assert.Equal(25, run.GetProperty("curve").GetArrayLength());
        var evaluation = run.GetProperty("evaluation");
        Assert.Equal("binary", evaluation.GetProperty("task").GetString());
        Assert.Equal(101, evaluation.GetProperty("thresholds").GetArrayLength());
        Assert.Equal(
            a.GetProperty("metrics").GetProperty("auc").GetDouble(),
            evaluation.GetProperty("auc").GetDouble(),
            9
        );
        Assert.True(run.GetProperty("importance").GetProperty("features").GetArrayLength() > 0);
        Assert.Single(run.GetProperty("lineage").GetProperty("dataVersions").EnumerateArray());

        // The sweep: six trials in order, best-so-far never gets worse.
        var sweep = await Get($"/api/sweeps/{pipeline}");
        Assert.Equal(6, sweep.GetProperty("trials").GetArrayLength());
        var best = sweep
            .GetProperty("history")
            .EnumerateArray()
            .Select(h => h.GetProperty("bestSoFar").GetDouble())
            .ToList();
        Assert.Equal(best.Order(), best);
        Assert.Equal(aucs.Max(), best[^1]);
        Assert.Contains(sweep.GetProperty("parameters").EnumerateArray(), p =>
            p.GetProperty("name").GetString() == "learning_rate"
        );

        // The CLI reads the same index: the same listing as JSON, and a compare table that shows only what differs.
        string conn = host.Azurite.ConnectionString;
        var (code, cliList, err) = Cli(
            "runs",
            "list",
            "--pipeline",
            pipeline,
            "--order-by",
            "metrics.auc desc",
            "--connection",
            conn,
            "--json"
        );
        Assert.True(code == 0, err);
        var cliRuns = JsonDocument
            .Parse(cliList)
            .RootElement.GetProperty("runs")
            .EnumerateArray()
            .Select(r => r.GetProperty("runId").GetString())
            .ToList();
        Assert.Equal(runs.Select(r => r.GetProperty("runId").GetString()), cliRuns);
        (code, var table, err) = Cli("runs", "compare", idA, idB, "--connection", conn);
        Assert.True(code == 0, err);
        foreach (string p in expectedDiff)
            Assert.Contains("params." + p, table);
        Assert.DoesNotContain("params.num_rounds", table);
        Assert.Contains("metrics.auc", table);
        (code, var shown, err) = Cli("runs", "show", idA, "--connection", conn);
        Assert.True(code == 0, err);
        output.WriteLine(table);
        output.WriteLine(shown);
        Assert.Contains("evaluation (binary", shown);
        (code, _, err) = Cli("runs", "show", "no-such-pipeline-t0", "--connection", conn);
        Assert.Equal(1, code);
        Assert.Contains("runs.not_found", err);

        // Unknown runs are a 404 with the standard error body.
        var missing = await host.Http.GetAsync("/api/runs/no-such-pipeline-t0");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(
            "runs.not_found",
            (await missing.Content.ReadFromJsonAsync<JsonElement>())
                .GetProperty("error")
                .GetProperty("code")
                .GetString()
        );
    }

    [Fact]
    public async Task OpenApi_DescribesTheRunsRoutesAndTheirResponseShapes()
    {
        var doc = JsonDocument.Parse(await host.Anonymous.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = doc.GetProperty("paths");
        foreach (
            string path in new[]
            {
                "/api/runs",
                "/api/runs/{runId}",
                "/api/runs/compare",
                "/api/runs/groups",
                "/api/sweeps/{pipelineId}",
            }
        )
        {
            var get = paths.GetProperty(path).GetProperty("get");
            Assert.Contains("\"$ref\"", get.GetProperty("responses").GetProperty("200").ToString()); // a named schema, not an untyped body
        }
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        foreach (string name in new[] { "RunList", "RunDetail", "RunComparison", "RunGroups", "SweepView" })
            Assert.True(schemas.TryGetProperty(name, out _), $"no schema {name}");
        Assert.True(schemas.GetProperty("RunList").GetProperty("properties").TryGetProperty("columns", out _));
        Assert.True(paths.GetProperty("/api/runs/reindex").TryGetProperty("post", out _));
    }

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        int code = Mlops.Cli.CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private async Task<JsonElement> Get(string path)
    {
        var response = await host.Http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }
}
