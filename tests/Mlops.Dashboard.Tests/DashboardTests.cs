using System.Text.Json;
using Microsoft.Playwright;
using Mlops.Functions.Tests.EndToEnd;
using Xunit;

namespace Mlops.Dashboard.Tests;

/// <summary>The dashboard in a real browser against a host holding real pipeline runs (see <see
/// cref="DashboardFixture"/>).</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardTests(DashboardFixture dashboard)
{
    private static readonly string Model = DashboardFixture.Dataset;

    [Fact]
    public async Task SignInForm_ThenRunsTable_CountsEveryIndexedRun()
    {
        var (page, _) = await dashboard.NewPageAsync();
        await page.GotoAsync(dashboard.BaseUrl + "/#/runs");
        await page.FillAsync("#key", FunctionHostFixture.Key);
        await page.ClickAsync("#signin button[type=submit]");
        await DashboardFixture.PageRenderedAsync(page);

        var runs = await dashboard.GetJsonAsync("/api/runs?limit=10000");
        int total = runs.GetProperty("total").GetInt32();
        Assert.True(total >= 8, $"two sweeps of 4 trials should be indexed, found {total}");
        Assert.Equal(total.ToString(), await page.GetAttributeAsync("#runs-count", "data-count"));
        Assert.Equal(
            total,
            await page.EvaluateAsync<int>(
                "() => Number(document.querySelector('[role=table]').getAttribute('aria-rowcount'))"
            )
        );
        await dashboard.ScreenshotAsync(page, "runs");
    }

    [Fact]
    public async Task WrongKey_SendsBackToSignIn_WithTheServersMessage()
    {
        var (page, _) = await dashboard.NewPageAsync();
        await page.GotoAsync(dashboard.BaseUrl + "/#/runs");
        await page.FillAsync("#key", "not-a-key");
        await page.ClickAsync("#signin button[type=submit]");
        await Assertions.Expect(page.Locator("#signin .error")).ToContainTextAsync("Invalid function key");
    }

    [Fact]
    public async Task OnlyDifferencesToggle_HidesColumnsWhoseValuesAreEqualInEveryRun()
    {
        var runs = (await dashboard.GetJsonAsync("/api/runs?limit=10000"))
            .GetProperty("runs")
            .EnumerateArray()
            .ToList();
        var names = runs.SelectMany(r => r.GetProperty("params").EnumerateObject().Select(p => p.Name))
            .Distinct()
            .ToList();
        bool equalEverywhere(string name) =>
            runs.Select(r => r.GetProperty("params").TryGetProperty(name, out var v) ? v.ToString() : "")
                .Distinct()
                .Count() == 1;
        var equal = names.Where(equalEverywhere).Select(n => "params." + n).ToList();
        var differing = names.Where(n => !equalEverywhere(n)).Select(n => "params." + n).ToList();
        Assert.Contains("params.num_rounds", equal);
        Assert.Contains("params.num_leaves", differing);

        var (page, errors) = await dashboard.OpenSignedInAsync("#/runs");
        var headers = page.Locator("[role=columnheader]");
        foreach (string column in equal.Concat(differing))
            Assert.Equal(1, await page.Locator($"[role=columnheader][data-col='{column}']").CountAsync());
        int before = await headers.CountAsync();

        await page.CheckAsync("#only-diff");
        await DashboardFixture.PageRenderedAsync(page);
        await Assertions.Expect(page.Locator("#only-diff")).ToBeCheckedAsync();
        foreach (string column in equal)
            Assert.Equal(0, await page.Locator($"[role=columnheader][data-col='{column}']").CountAsync());
        foreach (string column in differing)
            Assert.Equal(1, await page.Locator($"[role=columnheader][data-col='{column}']").CountAsync());
        Assert.True(await headers.CountAsync() <= before - equal.Count);
        Assert.Contains("diff=1", page.Url); // the view is in the address
        Assert.Empty(errors);
    }

    [Fact]
    public async Task RunPage_DrawsRocCurve_AndTheThresholdSliderChangesTheConfusionMatrix()
    {
        string runId = await RunWithRocAsync();
        var (page, errors) = await dashboard.OpenSignedInAsync($"#/run/{runId}");

        // The ROC chart is an SVG with a drawn curve: a path with many points.
        var rocPaths = page.Locator("#roc-chart svg path");
        Assert.True(await rocPaths.CountAsync() > 0);
        int longest = await page.EvaluateAsync<int>(
            "() => Math.max(...[...document.querySelectorAll('#roc-chart svg path')].map(p => (p.getAttribute('d') || '').length))"
        );
        Assert.True(longest > 100, $"the ROC path looks empty ({longest} characters)");

        var slider = page.Locator("#threshold");
        await slider.FocusAsync();
        await slider.PressAsync("Home");
        string low = await ConfusionAsync(page);
        await slider.PressAsync("End");
        string high = await ConfusionAsync(page);
        Assert.NotEqual(low, high);
        // At the lowest threshold nearly everything is predicted positive; at the highest nearly nothing.
        Assert.True(Cell(low, "fp") > Cell(high, "fp"), $"{low} vs {high}");
        Assert.True(Cell(low, "fn") < Cell(high, "fn"), $"{low} vs {high}");
        Assert.Empty(errors);
        await dashboard.ScreenshotAsync(page, "run");
    }

    [Fact]
    public async Task PromoteButton_Confirmed_MovesTheProductionAlias_AndAFunctionKeyIsSentToSignIn()
    {
        int production = await dashboard.ProductionAsync(),
            other = 1;
        Assert.Equal(2, production); // the fixture's setup

        // A function key cannot promote: the form says the master key is needed, and nothing moved.
        var (reader, _) = await dashboard.OpenSignedInAsync($"#/models/{Model}");
        reader.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await reader.ClickAsync($"button[data-action=promote][data-version='{other}']");
        await Assertions.Expect(reader.Locator("#signin .error")).ToContainTextAsync("master");
        Assert.Equal(production, await dashboard.ProductionAsync());

        var (page, errors) = await dashboard.OpenSignedInAsync($"#/models/{Model}", FunctionHostFixture.MasterKey);
        // Dismissed: nothing happens.
        void dismiss(object? _, IDialog dialog) => dialog.DismissAsync();
        page.Dialog += dismiss;
        await page.ClickAsync($"button[data-action=promote][data-version='{other}']");
        Assert.Equal(production, await dashboard.ProductionAsync());
        page.Dialog -= dismiss;

        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.ClickAsync($"button[data-action=promote][data-version='{other}']");
        await Assertions.Expect(page.Locator($".aliases[data-version='{other}']")).ToContainTextAsync("production");
        Assert.Equal(other, await dashboard.ProductionAsync());
        Assert.Empty(errors);
        await dashboard.ScreenshotAsync(page, "models");
    }

    [Fact]
    public async Task DatasetsListing_CountsVersions_AndTheDatasetsPageShowsIt()
    {
        var listed = (await dashboard.GetJsonAsync("/api/datasets")).EnumerateArray().ToList();
        Assert.Equal(
            [DashboardFixture.SweepDataset, DashboardFixture.Dataset],
            listed.Select(d => d.GetProperty("name").GetString())
        );
        foreach (var dataset in listed)
        {
            // The listing agrees with the per-dataset route (versions newest first).
            var versions = (await dashboard.GetJsonAsync($"/api/datasets/{dataset.GetProperty("name").GetString()}"))
                .EnumerateArray()
                .ToList();
            Assert.Equal(versions.Count, dataset.GetProperty("versions").GetInt32());
            Assert.Equal(versions[0].GetProperty("hash").GetString(), dataset.GetProperty("latestHash").GetString());
            Assert.Equal(
                versions.Count(v =>
                    string.Equals(
                        v.GetProperty("outcome").GetString(),
                        "Quarantined",
                        StringComparison.OrdinalIgnoreCase
                    )
                ),
                dataset.GetProperty("quarantined").GetInt32()
            );
        }
        Assert.Equal(
            2,
            listed.Single(d => d.GetProperty("name").GetString() == Model).GetProperty("versions").GetInt32()
        ); // part1 and part2

        var (page, errors) = await dashboard.OpenSignedInAsync("#/datasets");
        var rows = page.Locator("#datasets tbody tr");
        Assert.Equal(listed.Count, await rows.CountAsync());
        for (int i = 0; i < listed.Count; i++)
        {
            var cells = await rows.Nth(i).Locator("td").AllTextContentsAsync();
            Assert.Equal(listed[i].GetProperty("name").GetString(), cells[0]);
            Assert.Equal(listed[i].GetProperty("versions").GetInt32().ToString(), cells[1]);
            Assert.Equal(listed[i].GetProperty("latestHash").GetString()![..12], cells[3]);
        }
        // The refused drop (no usable dataset name, so no dataset's runs can show it) is listed with its reason.
        var refused = Assert.Single((await dashboard.GetJsonAsync("/api/drops/refused")).EnumerateArray(), r =>
            r.GetProperty("blob").GetString() == $"incoming/{DashboardFixture.RefusedDataset}/data.csv"
        );
        Assert.False(refused.TryGetProperty("dataset", out _)); // no dataset: the app's JSON leaves nulls out
        Assert.Contains("is not a usable dataset name", refused.GetProperty("reason").GetString());
        await Assertions
            .Expect(page.Locator("#refused tbody tr"))
            .ToContainTextAsync($"incoming/{DashboardFixture.RefusedDataset}/data.csv");
        await page.ClickAsync($"#datasets a[href$='/{Model}']");
        await Assertions.Expect(page.Locator("#versions tbody tr")).ToHaveCountAsync(2);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task EveryPage_RendersWithoutAConsoleError()
    {
        var runs = (await dashboard.GetJsonAsync("/api/runs?limit=10000"))
            .GetProperty("runs")
            .EnumerateArray()
            .ToList();
        string pipeline = runs[0].GetProperty("pipeline").GetString()!;
        var ids = runs.Take(3).Select(r => r.GetProperty("runId").GetString()!).ToList();
        var instances = (await dashboard.GetJsonAsync("/api/orchestrations?instanceIdPrefix=train-")).GetProperty(
            "instances"
        );
        string instance = instances[0].GetProperty("instanceId").GetString()!;
        var pages = new (string Name, string Hash)[]
        {
            ("runs-grouped", "#/runs?group=sweep"),
            ("run-" + ids[0], $"#/run/{ids[0]}"),
            ("compare", $"#/compare?ids={string.Join(',', ids)}"),
            ("sweep", $"#/sweep/{pipeline}"),
            ("models-list", "#/models"),
            ("models-detail", $"#/models/{Model}"),
            ("pipelines", "#/pipelines"),
            ("pipeline-run", $"#/pipelines/{instance}"),
            ("datasets", "#/datasets"),
            ("dataset", $"#/datasets/{Model}"),
            ("batch", "#/batch"),
            ("batch-model", $"#/batch/{Model}"),
        };
        var (page, errors) = await dashboard.OpenSignedInAsync("#/runs");
        foreach (var (name, hash) in pages)
        {
            await page.GotoAsync(dashboard.BaseUrl + "/" + hash);
            await DashboardFixture.PageRenderedAsync(page);
            Assert.Equal(0, await page.Locator("#page > .error").CountAsync());
            Assert.True(errors.Count == 0, $"{name}: {string.Join(" | ", errors)}");
            await dashboard.ScreenshotAsync(page, name);
        }
    }

    private async Task<string> RunWithRocAsync()
    {
        foreach (
            var run in (await dashboard.GetJsonAsync("/api/runs?limit=10000")).GetProperty("runs").EnumerateArray()
        )
        {
            string id = run.GetProperty("runId").GetString()!;
            var detail = await dashboard.GetJsonAsync($"/api/runs/{id}");
            if (
                detail.TryGetProperty("evaluation", out var e)
                && e.ValueKind == JsonValueKind.Object
                && e.TryGetProperty("roc", out var roc)
                && roc.GetArrayLength() > 2
            )
                return id;
        }
        throw new InvalidOperationException("No run has an evaluation with a ROC curve.");
    }

    private static async Task<string> ConfusionAsync(IPage page) =>
        await page.EvaluateAsync<string>(
            "() => ['tp','fp','tn','fn'].map(c => c + '=' + document.querySelector(`#confusion [data-cell=${c}]`).textContent).join(' ')"
        );

    private static int Cell(string confusion, string cell) =>
        int.Parse(confusion.Split(' ').Single(p => p.StartsWith(cell + "=")).Split('=')[1]);
}
