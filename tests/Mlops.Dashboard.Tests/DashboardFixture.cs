using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Mlops.Functions.Tests.EndToEnd;
using Mlops.Testing;
using Xunit;

namespace Mlops.Dashboard.Tests;

/// <summary>One host with its pipeline runs and one browser for every dashboard test class.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}

/// <summary>
/// The real host on its own Azurite with data from real pipeline runs — one dataset dropped twice with a small grid
/// sweep, so there are several trials and two model versions, and one with a bayes sweep that prunes — and Debian's
/// chromium driven by Playwright (its own browser download is not reachable here, hence <see cref="ChromiumPath"/>).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Dataset = "cancer-dash";
    public const string ChromiumPath = "/usr/bin/chromium";

    // A 2×2 grid over two parameters; num_rounds is the same in every trial (the "only differences" check hides it).
    private const string Config = """
        {"target":"target","task":"binary","trainer":"gbdt","params":{"num_rounds":25},
         "sweep":{"method":"grid","maxTrials":4,"parallelism":2,"parameters":{"num_leaves":[4,8],"learning_rate":[0.1,0.3]}}}
        """;

    /// <summary>A second dataset whose run is a smart sweep: bayes with hyperband pruning and two objectives (a Pareto
    /// front).</summary>
    public const string SweepDataset = "cancer-bayes";

    // num_rounds is 25 as above (it stays a column the "only differences" check hides). Learning rates from 0.005 to
    // 0.5 leave the slow trials far behind at rounds 3 and 9 (minIter·eta^k), so hyperband has something to stop.
    private const string SweepConfig = """
        {"target":"target","task":"binary","trainer":"gbdt","params":{"num_rounds":25,"min_data_in_leaf":5},
         "sweep":{"method":"bayes","maxTrials":6,"parallelism":3,
                  "parameters":{"learning_rate":{"min":0.005,"max":0.5,"log":true},"num_leaves":{"min":4,"max":31,"int":true}},
                  "earlyTerminate":{"type":"hyperband","minIter":3,"eta":3},
                  "objectives":[{"metric":"auc","goal":"max"},{"metric":"predict_latency_us","goal":"min"}]}}
        """;

    /// <summary>A drop under this folder is refused (upper case and '_' are not in a dataset name).</summary>
    public const string RefusedDataset = "Not_A_Dataset";

    public FunctionHostFixture Host { get; } = new();

    /// <summary>The instance id of <see cref="SweepDataset"/>'s run: the sweep's id in <c>/api/sweeps/{id}</c> and
    /// <c>#/sweep/{id}</c>.</summary>
    public string SweepPipeline { get; private set; } = "";
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string BaseUrl => $"http://127.0.0.1:{Host.Port}";
    public string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        await Host.InitializeAsync();
        byte[] csv = await File.ReadAllBytesAsync(
            Path.Combine(AzuriteInstance.RepoRoot(), "tests", "data", "sk_breast_cancer.csv")
        );
        await Host.DropAsync(Dataset, "part1.csv", csv, Config);
        await Host.DropAsync(SweepDataset, "data.csv", csv, SweepConfig); // runs alongside the first
        await Host.DropAsync(RefusedDataset, "data.csv", csv); // not a usable dataset name: refused, kept, listed
        ExpectCompleted(await Host.WaitForDropRunAsync(Dataset, "part1.csv", TimeSpan.FromMinutes(3)));
        var sweepRun = await Host.WaitForDropRunAsync(SweepDataset, "data.csv", TimeSpan.FromMinutes(3));
        ExpectCompleted(sweepRun);
        SweepPipeline = sweepRun.GetProperty("instanceId").GetString()!;
        // A different file (the rows without the last 60): a new data version, a second run, model version 2.
        string[] lines = System.Text.Encoding.UTF8.GetString(csv).TrimEnd('\n').Split('\n');
        byte[] second = System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines[..^60]) + "\n");
        await Host.DropAsync(Dataset, "part2.csv", second);
        ExpectCompleted(await Host.WaitForDropRunAsync(Dataset, "part2.csv", TimeSpan.FromMinutes(3)));
        // Version 2 serves whatever its gate said (it trained on fewer rows), so version 1 — whose gate passed — is
        // the one the promote test moves back to production.
        var promote = await Host.Admin.PostAsJsonAsync(
            $"/api/models/{Dataset}/promote",
            new
            {
                version = 2,
                force = true,
                reason = "test setup",
            }
        );
        Assert.True(promote.IsSuccessStatusCode, await promote.Content.ReadAsStringAsync());

        Directory.CreateDirectory(ScreenshotDir);
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await BrowserSetup.LaunchAsync(Playwright); // Playwright's chromium, else the system's, else apt-get's
    }

    private static void ExpectCompleted(JsonElement status) =>
        Assert.True(status.GetProperty("runtimeStatus").GetString() == "Completed", status.ToString());

    /// <summary>The version the production alias points at, read through the API.</summary>
    public async Task<int> ProductionAsync() =>
        (await GetJsonAsync($"/api/models/{Dataset}"))
            .GetProperty("state")
            .GetProperty("aliases")
            .GetProperty("production")
            .GetInt32();

    /// <summary>A fresh tab (its own session storage) whose console errors and page errors are collected.</summary>
    public async Task<(IPage Page, List<string> Errors)> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(
            new()
            {
                ViewportSize = new() { Width = 1400, Height = 900 },
            }
        );
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                lock (errors)
                    errors.Add(message.Text);
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
                errors.Add(error);
        };
        return (page, errors);
    }

    /// <summary>Opens the dashboard at <paramref name="hash"/> signed in with <paramref name="key"/> (through ?code=,
    /// then kept by the tab).</summary>
    public async Task<(IPage Page, List<string> Errors)> OpenSignedInAsync(
        string hash,
        string key = FunctionHostFixture.Key
    )
    {
        var (page, errors) = await NewPageAsync();
        await page.GotoAsync($"{BaseUrl}/?code={Uri.EscapeDataString(key)}{hash}");
        await PageRenderedAsync(page);
        return (page, errors);
    }

    /// <summary>Waits until the page area holds the rendered page (not the loading line).</summary>
    public static async Task PageRenderedAsync(IPage page) =>
        await page.WaitForFunctionAsync(
            "() => { const p = document.querySelector('#page'); return p && p.firstElementChild && !p.querySelector(':scope > .loading'); }"
        );

    public Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = true });

    public async Task<JsonElement> GetJsonAsync(string path) => await Host.Http.GetFromJsonAsync<JsonElement>(path);

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.DisposeAsync();
        Playwright?.Dispose();
        await Host.DisposeAsync();
    }
}
