using System.IO.Compression;
using System.Net;
using System.Text.RegularExpressions;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.AspNetCore.Http;
using Mlops.Functions.Handlers;
using Xunit;

namespace Mlops.Dashboard.Tests;

/// <summary>How the host serves the dashboard's files, and the JSON route only the dashboard added.</summary>
[Collection(DashboardCollection.Name)]
public sealed class ServingTests(DashboardFixture dashboard)
{
    private HttpClient Anonymous => dashboard.Host.Anonymous;

    [Fact]
    public async Task Root_ServesThePageWithoutAKey_UnderAStrictPolicy_AndHashedAssetsAreCachedForAYear()
    {
        var page = await Anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.DoesNotContain("script-src 'self' 'unsafe-inline'", csp);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.True(page.Headers.CacheControl!.NoCache);
        string html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)[^>]*>", html); // no inline script: the policy would block it
        Assert.DoesNotContain("http", Regex.Replace(html, "<meta[^>]*>", "")); // no CDN: every asset comes from this host

        string script = Regex.Match(html, "src=\"(/assets/main-[A-Z0-9]+\\.js)\"").Groups[1].Value;
        var asset = await Anonymous.GetAsync(script);
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("text/javascript", asset.Content.Headers.ContentType!.MediaType);
        Assert.Equal(TimeSpan.FromDays(365), asset.Headers.CacheControl!.MaxAge);
        byte[] plain = await asset.Content.ReadAsByteArrayAsync();

        var compressed = new HttpRequestMessage(HttpMethod.Get, script);
        compressed.Headers.AcceptEncoding.ParseAdd("gzip");
        var gzipped = await Anonymous.SendAsync(compressed);
        Assert.Equal("gzip", gzipped.Content.Headers.ContentEncoding.Single());
        byte[] body = await gzipped.Content.ReadAsByteArrayAsync();
        Assert.True(body.Length < plain.Length / 2, $"{body.Length} gzipped vs {plain.Length}");
        using var unzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        var roundTrip = new MemoryStream();
        await unzip.CopyToAsync(roundTrip);
        Assert.Equal(plain, roundTrip.ToArray());
    }

    [Fact]
    public async Task CatchAllFunction_ServesTheFiles_FromTheFunctionClassItself()
    {
        // The function the host routes every non-API GET to, called as the worker calls it (no host in between).
        var function = new Mlops.Functions.Functions.Http.DashboardFunctions();
        foreach (
            var (path, status, type) in new[]
            {
                ("", 200, "text/html; charset=utf-8"),
                ("assets/nope.js", 404, "text/plain; charset=utf-8"),
            }
        )
        {
            var context = new DefaultHttpContext();
            context.Request.Method = "GET";
            context.Request.Path = "/" + path;
            context.Response.Body = new MemoryStream();
            await function.Dashboard(context.Request, path);
            Assert.Equal((status, type), (context.Response.StatusCode, context.Response.ContentType));
        }
    }

    [Fact]
    public async Task UnknownPaths_AreNotFound_AndAnUnknownApiRouteIsNeverThePage()
    {
        // The catch-all's route refuses api/…: an unknown API path is the host's 404, never the page.
        var api = await dashboard.Host.Http.GetAsync("/api/no-such-route");
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        Assert.DoesNotContain("<html", await api.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.NotFound, (await Anonymous.GetAsync("/assets/main-OLD.js")).StatusCode);
        // The catch-all does not open the API: data routes still want the key.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Anonymous.GetAsync("/api/runs")).StatusCode);
    }

    [Fact]
    public async Task ActivitiesRoute_ListsEachActivityOfARun_WithItsDuration()
    {
        string instance = (await dashboard.GetJsonAsync($"/api/pipelines/{DashboardFixture.Dataset}/runs"))
            .GetProperty("runs")[0]
            .GetProperty("instanceId")
            .GetString()!;
        var activities = (await dashboard.GetJsonAsync($"/api/orchestrations/{instance}/activities"))
            .GetProperty("activities")
            .EnumerateArray()
            .ToList();
        var names = activities.Select(a => a.GetProperty("name").GetString()).ToList();
        Assert.Equal("IngestData", names[0]);
        Assert.Equal(4, names.Count(n => n == "TrainCandidate")); // the 2×2 grid
        Assert.Contains("RegisterModel", names);
        Assert.All(activities, a =>
        {
            Assert.Equal("completed", a.GetProperty("status").GetString());
            Assert.InRange(a.GetProperty("seconds").GetDouble(), 0, 120);
        });
        Assert.Equal(
            HttpStatusCode.NotFound,
            (await dashboard.Host.Http.GetAsync("/api/orchestrations/no-such-run/activities")).StatusCode
        );
    }

    [Fact]
    public async Task LiveTraffic_CountsThisHostsPredictionsPerRoutedVersion()
    {
        string[] lines = File.ReadAllLines(
            Path.Combine(Mlops.Testing.AzuriteInstance.RepoRoot(), "tests", "data", "sk_breast_cancer.csv")
        );
        string[] header = lines[0].Split(',');
        string row =
            "{"
            + string.Join(
                ",",
                header
                    .Select((h, i) => (h, v: lines[1].Split(',')[i]))
                    .Where(x => x.h != "target")
                    .Select(x => $"\"{x.h}\":{x.v}")
            )
            + "}";
        const int requests = 5;
        for (int i = 0; i < requests; i++)
        {
            var predict = await dashboard.Host.Http.PostAsync(
                $"/api/models/{DashboardFixture.Dataset}/predict",
                new StringContent("{\"rows\":[" + row + "]}", System.Text.Encoding.UTF8, "application/json")
            );
            Assert.True(predict.IsSuccessStatusCode, await predict.Content.ReadAsStringAsync());
        }
        var live = await dashboard.GetJsonAsync($"/api/models/{DashboardFixture.Dataset}/traffic/live?seconds=600");
        var routed = live.GetProperty("versions")
            .EnumerateArray()
            .Where(v => !v.GetProperty("shadow").GetBoolean())
            .ToList();
        Assert.Equal(100, routed.Sum(v => v.GetProperty("weight").GetInt32()));
        Assert.True(routed.Sum(v => v.GetProperty("requests").GetInt64()) >= requests, live.ToString());
        Assert.All(routed.Where(v => v.GetProperty("requests").GetInt64() > 0), v =>
        {
            Assert.Equal(0, v.GetProperty("errorRate").GetDouble());
            Assert.True(v.GetProperty("meanLatencyMs").GetDouble() > 0);
        });
        Assert.Equal(
            HttpStatusCode.BadRequest,
            (
                await dashboard.Host.Http.GetAsync($"/api/models/{DashboardFixture.Dataset}/traffic/live?seconds=0")
            ).StatusCode
        );
        var notANumber = await dashboard.Host.Http.GetAsync(
            $"/api/models/{DashboardFixture.Dataset}/traffic/live?seconds=ten"
        );
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        Assert.Contains("\"request.invalid_query\"", await notANumber.Content.ReadAsStringAsync()); // a typed body naming ?seconds=
    }

    [Fact]
    public void ActivityTimeline_PairsOutcomesByTaskId_KeepsTheFailureMessage_AndLeavesUnfinishedOnesRunning()
    {
        var t0 = new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc);
        var history = new HistoryEvent[]
        {
            new TaskScheduledEvent(0, "IngestData") { Timestamp = t0 },
            new TaskScheduledEvent(1, "TrainCandidate") { Timestamp = t0.AddSeconds(1) },
            new TaskScheduledEvent(2, "TrainCandidate") { Timestamp = t0.AddSeconds(1) },
            new TaskCompletedEvent(-1, 0, "{}") { Timestamp = t0.AddSeconds(0.5) },
            new TaskFailedEvent(
                -1,
                2,
                "boom",
                null,
                new FailureDetails("InvalidOperationException", "num_leaves must be at least 2", null, null, false)
            )
            {
                Timestamp = t0.AddSeconds(4),
            },
            new TaskScheduledEvent(0, "IngestData") { Timestamp = t0.AddSeconds(9) }, // a replayed copy: counted once
        };
        var spans = ActivityTimeline.FromHistory(history);
        Assert.Equal(3, spans.Count);
        Assert.Equal(("IngestData", "completed", 0.5), (spans[0].Name, spans[0].Status, spans[0].Seconds!.Value));
        Assert.Equal("running", spans[1].Status);
        Assert.Null(spans[1].Seconds);
        Assert.Equal(
            ("failed", "num_leaves must be at least 2", 3.0),
            (spans[2].Status, spans[2].Failure, spans[2].Seconds!.Value)
        );
    }
}
