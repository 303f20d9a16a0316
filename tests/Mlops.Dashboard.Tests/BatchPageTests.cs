using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;

namespace Mlops.Dashboard.Tests;

/// <summary>
/// The Batch page (issue 20 item 4) against the batch API's contract: <c>GET /api/models/{model}/batch</c> and
/// <c>…/batch/{jobId}</c>. The browser's requests to those routes are answered here, so the page is tested on every job
/// state whether or not the host in this build serves batch scoring yet; every other call goes to the real host.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class BatchPageTests(DashboardFixture dashboard)
{
    private static readonly string Model = DashboardFixture.Dataset;

    private static object Job(
        string id,
        string status,
        long scored,
        long? total,
        int errors,
        double? percent,
        double? eta,
        string? failure = null
    ) =>
        new
        {
            jobId = id,
            model = Model,
            version = 2,
            input = $"{Model}/{id}.csv",
            status,
            rowsScored = scored,
            rowsTotal = total,
            errors,
            percent,
            etaSeconds = eta,
            startedUtc = "2026-12-04T06:00:00Z",
            finishedUtc = status is "Completed" or "Failed" ? "2026-12-04T06:05:00Z" : null,
            output = status == "Completed" ? $"predictions/{Model}/{id}/" : null,
            manifest = status == "Completed" ? $"predictions/{Model}/{id}/_manifest.json" : null,
            failure,
        };

    private static readonly object[] Jobs =
    [
        Job("job-running", "Running", 500_000, 2_000_000, 3, 25, 12),
        Job(
            "job-failed",
            "Failed",
            1_000,
            10_000,
            1_200,
            10,
            null,
            "Error threshold exceeded: 1200 rows could not be scored (limit 1000)."
        ),
        Job("job-done", "Completed", 10_000, 10_000, 0, 100, null),
        Job("job-pending", "Pending", 0, null, 0, null, null),
    ];

    [Fact]
    public async Task JobsTable_ShowsProgressStatusErrorsEtaAndFailure_PerJob()
    {
        var (page, errors) = await dashboard.NewPageAsync();
        await AnswerBatchRoutesAsync(page, _ => Json(new { jobs = Jobs }));
        await OpenAsync(page, $"#/batch/{Model}");

        var table = page.Locator($"#batch-jobs-{Model}");
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(4);
        var running = table.Locator("tr", new() { Has = page.Locator("a", new() { HasText = "job-running" }) });
        Assert.Equal("25", await running.Locator("progress").GetAttributeAsync("value"));
        await Assertions.Expect(running).ToContainTextAsync("500000 / 2000000 rows");
        await Assertions.Expect(running).ToContainTextAsync("12.0 s"); // the ETA, shown while running
        await Assertions.Expect(running.Locator("[data-errors]")).ToHaveTextAsync("3");

        var failed = table.Locator("tr", new() { Has = page.Locator("a", new() { HasText = "job-failed" }) });
        await Assertions.Expect(failed.Locator("[data-status]")).ToHaveTextAsync("Failed");
        await Assertions.Expect(failed.Locator(".error")).ToContainTextAsync("Error threshold exceeded");
        var pending = table.Locator("tr", new() { Has = page.Locator("a", new() { HasText = "job-pending" }) });
        await Assertions.Expect(pending).ToContainTextAsync("planning");
        var done = table.Locator("tr", new() { Has = page.Locator("a", new() { HasText = "job-done" }) });
        Assert.Equal("100", await done.Locator("progress").GetAttributeAsync("value"));
        Assert.Equal("", await done.Locator("td").Nth(6).TextContentAsync()); // no ETA once finished

        await Assertions.Expect(page.Locator("header nav a.active")).ToHaveTextAsync("Batch");
        Assert.Empty(errors);
        await dashboard.ScreenshotAsync(page, "batch");
    }

    [Fact]
    public async Task JobLink_OpensItsDetail_WithPartsErrorsBlobAndManifest()
    {
        var detail = new Dictionary<string, object?>
        {
            ["jobId"] = "job-done",
            ["model"] = Model,
            ["version"] = 2,
            ["input"] = $"{Model}/job-done.csv",
            ["status"] = "Completed",
            ["rowsScored"] = 10_000,
            ["rowsTotal"] = 10_000,
            ["errors"] = 2,
            ["percent"] = 100,
            ["startedUtc"] = "2026-12-04T06:00:00Z",
            ["finishedUtc"] = "2026-12-04T06:05:00Z",
            ["output"] = $"predictions/{Model}/job-done/",
            ["manifest"] = new
            {
                model = Model,
                version = 2,
                rows = 10_000,
                errors = 2,
                parts = 3,
                seconds = 4.5,
            },
            ["parts"] = new[] { "part-0.csv", "part-1.csv", "part-2.csv" }
                .Select(p => $"predictions/{Model}/job-done/{p}")
                .ToArray(),
            ["errorsBlob"] = $"predictions/{Model}/job-done/errors.csv",
        };
        var (page, errors) = await dashboard.NewPageAsync();
        await AnswerBatchRoutesAsync(page, url =>
            url.EndsWith("/batch/job-done", StringComparison.Ordinal) ? Json(detail) : Json(new { jobs = Jobs })
        );
        await OpenAsync(page, $"#/batch/{Model}");

        await page.ClickAsync("a:text-is('job-done')");
        await Assertions.Expect(page.Locator("#batch-parts li")).ToHaveCountAsync(3);
        await Assertions
            .Expect(page.Locator("#batch-parts li").First)
            .ToHaveTextAsync($"predictions/{Model}/job-done/part-0.csv");
        await Assertions.Expect(page.Locator("#batch-errors-blob")).ToContainTextAsync("errors.csv");
        await Assertions.Expect(page.Locator("#batch-manifest")).ToContainTextAsync("rows");
        await Assertions.Expect(page.Locator("#batch-manifest")).ToContainTextAsync("10000");
        Assert.Equal(0, await page.Locator("#batch-failure").CountAsync());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task RunningJob_RefreshesInPlace_UntilItCompletes()
    {
        int calls = 0;
        var (page, _) = await dashboard.NewPageAsync();
        await AnswerBatchRoutesAsync(page, _ =>
            Interlocked.Increment(ref calls) == 1
                ? Json(new { jobs = new[] { Job("job-live", "Running", 10, 100, 0, 10, 30) } })
                : Json(new { jobs = new[] { Job("job-live", "Completed", 100, 100, 0, 100, null) } })
        );
        await OpenAsync(page, $"#/batch/{Model}");
        await Assertions.Expect(page.Locator("[data-status]")).ToHaveTextAsync("Running");
        // No navigation: the same table is refreshed a few seconds later, and stops asking once nothing runs.
        await Assertions.Expect(page.Locator("[data-status]")).ToHaveTextAsync("Completed", new() { Timeout = 15_000 });
        int after = Volatile.Read(ref calls);
        await page.WaitForTimeoutAsync(4_000);
        Assert.Equal(after, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task ApiError_IsShownAsAMessage_NotABlankPage()
    {
        var (page, _) = await dashboard.NewPageAsync();
        await AnswerBatchRoutesAsync(page, _ =>
            (404, """{"error":{"code":"batch.unknown_job","message":"No batch job 'nope' for cancer-dash."}}""")
        );
        await OpenAsync(page, $"#/batch/{Model}/nope");
        await Assertions.Expect(page.Locator("#page > .error")).ToContainTextAsync("No batch job 'nope'");
    }

    private static (int Status, string Body) Json(object body) => (200, JsonSerializer.Serialize(body));

    /// <summary>Answers the browser's batch API calls with <paramref name="answer"/> (by URL path); the rest reach the
    /// host.</summary>
    private static Task AnswerBatchRoutesAsync(IPage page, Func<string, (int Status, string Body)> answer) =>
        page.RouteAsync(new Regex(@"/api/models/[^/?]+/batch(/[^/?]+)?(\?.*)?$"), async route =>
        {
            var (status, body) = answer(new Uri(route.Request.Url).AbsolutePath);
            await route.FulfillAsync(
                new()
                {
                    Status = status,
                    ContentType = "application/json",
                    Body = body,
                }
            );
        });

    private async Task OpenAsync(IPage page, string hash)
    {
        await page.GotoAsync(
            $"{dashboard.BaseUrl}/?code={Uri.EscapeDataString(Mlops.Functions.Tests.EndToEnd.FunctionHostFixture.Key)}{hash}"
        );
        await DashboardFixture.PageRenderedAsync(page);
    }
}
