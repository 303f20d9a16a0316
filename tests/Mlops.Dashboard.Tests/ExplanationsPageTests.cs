using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Mlops.Testing;
using Xunit;

namespace Mlops.Dashboard.Tests;

/// <summary>
/// The Model page's explanations (issue 21 item 5) against the real host: the global importance bar, the beeswarm over
/// logged predictions, and "explain a row" whose waterfall must end at the raw score the predict route served.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class ExplanationsPageTests(DashboardFixture dashboard)
{
    private static readonly string Model = DashboardFixture.Dataset;

    // Version 2 exists from the fixture's setup whatever the promote test does to the production alias meanwhile.
    private const int Version = 2;
    private static readonly string Page = $"#/models/{Model}?v={Version}";

    [Fact]
    public async Task ImportanceBar_ListsTheModelsColumns_OrderedByImportance()
    {
        var importance = await dashboard.GetJsonAsync($"/api/models/{Model}/versions/{Version}/importance");
        var expected = importance
            .GetProperty("columns")
            .EnumerateArray()
            .OrderByDescending(c => c.GetProperty("meanAbs").GetDouble())
            .Select(c => c.GetProperty("column").GetString()!)
            .ToList();
        Assert.Equal(30, expected.Count); // every input column of the breast-cancer data

        var (page, errors) = await dashboard.OpenSignedInAsync(Page);
        await page.WaitForSelectorAsync("#importance-chart svg text");
        // The axis labels as drawn, top to bottom.
        var drawn = await page.EvaluateAsync<string[]>(
            """
            names => [...document.querySelectorAll('#importance-chart svg text')]
              .filter(t => names.includes(t.textContent))
              .map(t => ({ name: t.textContent, y: t.getBoundingClientRect().top }))
              .sort((a, b) => a.y - b.y).map(t => t.name)
            """,
            expected
        );
        Assert.Equal(expected, drawn);
        Assert.Empty(errors);
        await dashboard.ScreenshotAsync(page, "model-explanations");
    }

    [Fact]
    public async Task ExplanationsRoute_LoggedRows_EqualWhatThePredictRouteExplains_AndTheBeeswarmDrawsThem()
    {
        var rows = CsvRows(25, skip: 100);
        await PredictAsync(rows, version: Version);
        var sample = await LoggedSampleAsync(rows.Count);
        var columns = sample.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
        double baseValue = sample.GetProperty("base")[0].GetDouble();

        // The same rows explained by the predict route: the sample's contributions are those of the served path.
        var served = await PredictAsync(rows, version: Version, explain: true);
        var byInput = served
            .GetProperty("predictions")
            .EnumerateArray()
            .Zip(rows)
            .ToDictionary(p => p.Second.ToJsonString(), p => p.First.GetProperty("explanation"));
        int matched = 0;
        foreach (var row in sample.GetProperty("rows").EnumerateArray())
        {
            string key = JsonNode.Parse(row.GetProperty("values").GetRawText())!.ToJsonString();
            if (!byInput.TryGetValue(key, out var explanation))
                continue; // a row another test logged
            matched++;
            Assert.Equal(explanation.GetProperty("base").GetDouble(), baseValue, 9);
            var contributions = row.GetProperty("contributions")[0];
            for (int j = 0; j < columns.Count; j++)
                Assert.Equal(
                    explanation.GetProperty("contributions").GetProperty(columns[j]).GetDouble(),
                    contributions[j].GetDouble(),
                    9
                );
        }
        Assert.Equal(rows.Count, matched);

        // The explained predictions above are logged too: the page is opened once they are, and shows what the route
        // gives it (the newest 200 rows).
        var settled = await LoggedSampleAsync(2 * rows.Count, sampleSize: 200);
        var (page, errors) = await dashboard.OpenSignedInAsync(Page);
        var swarm = page.Locator("#beeswarm-chart");
        string sampled = settled.GetProperty("rows").GetArrayLength().ToString(CultureInfo.InvariantCulture);
        await Assertions.Expect(swarm).ToHaveAttributeAsync("data-rows", sampled);
        int lines = (await swarm.GetAttributeAsync("data-columns"))!.Split('\n').Length;
        Assert.Equal(Math.Min(12, columns.Count), lines);
        // One dot per row and column shown (plus the axes' own paths).
        int paths = await page.Locator("#beeswarm-chart svg path, #beeswarm-chart svg circle").CountAsync();
        Assert.True(paths >= rows.Count * lines, $"{paths} paths for {rows.Count} rows × {lines} columns");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ExplainARow_WaterfallEndsAtTheServedRawScore()
    {
        var row = CsvRows(1, skip: 7)[0];
        var answer = (await PredictAsync([row], version: Version, explain: true)).GetProperty("predictions")[0];
        // Binary: the served probabilities are [negative, positive]; the raw score is the positive class's log-odds.
        double p = answer.GetProperty("probabilities").EnumerateObject().Last().Value.GetDouble();
        double servedRaw = Math.Log(p / (1 - p));
        var explanation = answer.GetProperty("explanation");
        double sum =
            explanation.GetProperty("base").GetDouble()
            + explanation.GetProperty("contributions").EnumerateObject().Sum(c => c.Value.GetDouble());
        Assert.Equal(servedRaw, sum, 6); // the API's own promise, which the chart relies on

        var (page, errors) = await dashboard.OpenSignedInAsync(Page);
        await page.FillAsync("#explain-row", row.ToJsonString());
        await page.ClickAsync("#explain-go");
        var waterfall = page.Locator("#waterfall");
        await waterfall.WaitForAsync();
        double end = double.Parse((await waterfall.GetAttributeAsync("data-end"))!, CultureInfo.InvariantCulture);
        Assert.Equal(servedRaw, end, 6);
        double shownRaw = double.Parse(
            (await page.GetAttributeAsync("#served", "data-raw"))!,
            CultureInfo.InvariantCulture
        );
        Assert.Equal(servedRaw, shownRaw, 9);
        // Base, 12 columns, one bar for the other 18, and the raw score; the running total's last line is the end.
        Assert.Equal(15, await page.Locator("#waterfall-steps tbody tr").CountAsync());
        await Assertions.Expect(page.Locator("#waterfall-steps tbody tr").Last).ToContainTextAsync("raw score");
        await Assertions.Expect(page.Locator("#waterfall svg")).ToContainTextAsync("log-odds");
        Assert.Empty(errors);
        await dashboard.ScreenshotAsync(page, "model-waterfall");
    }

    [Fact]
    public async Task ExplainARow_BadJsonOrUnknownColumn_ShowsTheProblem_NotABlank()
    {
        var (page, _) = await dashboard.OpenSignedInAsync(Page);
        await page.FillAsync("#explain-row", "{\"mean radius\": 12,");
        await page.ClickAsync("#explain-go");
        await Assertions.Expect(page.Locator("#explain-error")).ToContainTextAsync("not valid JSON");

        await page.FillAsync("#explain-row", "[1, 2]");
        await page.ClickAsync("#explain-go");
        await Assertions.Expect(page.Locator("#explain-error")).ToContainTextAsync("one JSON object");

        var row = CsvRows(1, skip: 3)[0];
        row["no such column"] = 1.5;
        await page.FillAsync("#explain-row", row.ToJsonString());
        await page.ClickAsync("#explain-go");
        await Assertions.Expect(page.Locator("#explain-error")).ToContainTextAsync("no such column");
        Assert.Equal(0, await page.Locator("#waterfall").CountAsync());
    }

    /// <summary>Rows of the breast-cancer file as JSON objects of the model's input columns (the target left
    /// out).</summary>
    private static List<JsonObject> CsvRows(int count, int skip)
    {
        var lines = File.ReadLines(Path.Combine(AzuriteInstance.RepoRoot(), "tests", "data", "sk_breast_cancer.csv"))
            .ToList();
        string[] header = lines[0].Split(',');
        return lines
            .Skip(1 + skip)
            .Take(count)
            .Select(line =>
            {
                var row = new JsonObject();
                string[] cells = line.Split(',');
                for (int i = 0; i < header.Length; i++)
                    if (header[i] != "target")
                        row[header[i]] = double.Parse(cells[i], CultureInfo.InvariantCulture);
                return row;
            })
            .ToList();
    }

    private async Task<JsonElement> PredictAsync(IReadOnlyList<JsonObject> rows, int version, bool explain = false)
    {
        var body = new JsonObject
        {
            ["rows"] = new JsonArray(rows.Select(r => (JsonNode)r.DeepClone()).ToArray()),
            ["explain"] = explain,
        };
        var response = await dashboard.Host.Http.PostAsJsonAsync(
            $"/api/models/{Model}/predict?version={version}",
            body
        );
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The explanations route once the prediction log holds at least <paramref name="rows"/> rows (it is
    /// appended every second).</summary>
    private async Task<JsonElement> LoggedSampleAsync(int rows, int sampleSize = 1000)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var sample = await dashboard.GetJsonAsync(
                $"/api/models/{Model}/versions/{Version}/explanations?sample={sampleSize}"
            );
            if (sample.GetProperty("rows").GetArrayLength() >= rows || DateTime.UtcNow > deadline)
                return sample;
            await Task.Delay(500);
        }
    }
}
