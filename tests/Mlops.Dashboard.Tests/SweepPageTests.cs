using Microsoft.Playwright;
using Xunit;

namespace Mlops.Dashboard.Tests;

/// <summary>
/// The Sweep and Runs pages for the fixture's bayes sweep, whose hyperband early termination prunes trials and whose
/// two objectives give a Pareto front — what the grid sweep of the other tests never draws.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class SweepPageTests(DashboardFixture dashboard)
{
    // ECharts draws a data point as a unit symbol scaled by a matrix transform; legend icons are only translated. The
    // colours are the sweep page's prunedColor and frontColor.
    private const string PrunedMarkers = "#history-chart svg path[fill='#b44'][transform^='matrix']";
    private const string FrontPoints = "#pareto-chart svg path[stroke='#2a7'][transform^='matrix']";

    private async Task<(List<string> Pruned, List<string> Front)> SweepFromApiAsync()
    {
        var sweep = await dashboard.GetJsonAsync($"/api/sweeps/{dashboard.SweepPipeline}");
        var pruned = sweep
            .GetProperty("trials")
            .EnumerateArray()
            .Where(t => t.GetProperty("status").GetString() == "pruned")
            .Select(t => t.GetProperty("runId").GetString()!)
            .ToList();
        var front = sweep
            .GetProperty("summary")
            .GetProperty("paretoFront")
            .EnumerateArray()
            .Select(r => r.GetString()!)
            .ToList();
        return (pruned, front);
    }

    [Fact]
    public async Task SweepPage_MarksEveryPrunedTrial_AndDrawsOnePointPerParetoOptimalRun()
    {
        var (pruned, front) = await SweepFromApiAsync();
        Assert.InRange(pruned.Count, 1, 5); // hyperband stopped some of the 6 trials, not all
        Assert.NotEmpty(front);
        Assert.Empty(pruned.Intersect(front)); // only completed trials are measured against each other

        var (page, errors) = await dashboard.OpenSignedInAsync($"#/sweep/{dashboard.SweepPipeline}");

        await Assertions.Expect(page.Locator(PrunedMarkers)).ToHaveCountAsync(pruned.Count);
        Assert.Equal(pruned.Count.ToString(), await page.GetAttributeAsync("#history-counts", "data-pruned"));
        await Assertions.Expect(page.Locator(FrontPoints)).ToHaveCountAsync(front.Count);
        Assert.Equal(front.Count.ToString(), await page.GetAttributeAsync("#pareto-counts", "data-front"));
        // The front is joined by a line when it has more than one point.
        if (front.Count > 1)
            Assert.Equal(1, await page.Locator("#pareto-chart svg path[stroke='#2a7'][fill='none']").CountAsync());
        Assert.Empty(errors);
        await dashboard.ScreenshotAsync(page, "sweep-bayes");
    }

    [Fact]
    public async Task RunsPage_FilteredOnPrunedStatus_ListsExactlyThePrunedTrials()
    {
        var (pruned, _) = await SweepFromApiAsync();
        Assert.NotEmpty(pruned);

        string filter = Uri.EscapeDataString("status = \"pruned\"");
        var (page, errors) = await dashboard.OpenSignedInAsync($"#/runs?filter={filter}");

        Assert.Equal(pruned.Count.ToString(), await page.GetAttributeAsync("#runs-count", "data-count"));
        var listed = await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('.vt-body [role=row]')].map(r => r.getAttribute('data-key'))"
        );
        Assert.Equal(pruned.Order(), listed.Order());
        var statuses = await page.Locator(".vt-body [data-col=status]").AllTextContentsAsync();
        Assert.All(statuses, s => Assert.StartsWith("pruned", s));
        Assert.Empty(errors);
    }
}
