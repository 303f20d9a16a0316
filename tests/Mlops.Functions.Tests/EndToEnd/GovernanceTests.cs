using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>
/// The pipeline's safety rails on real storage: bad data stops before training and is kept in quarantine; a worse
/// model is registered but not promoted; manual approval promotes or keeps production as the reviewer decides.
/// </summary>
public sealed class GovernanceTests(FunctionHostFixture host, ITestOutputHelper output)
    : IClassFixture<FunctionHostFixture>
{
    /// <summary>Two informative features, a categorical and a binary label with the given positive share.</summary>
    private static byte[] Synthetic(int rows, double positiveShare, int seed, bool dropColumn = false)
    {
        var random = new Random(seed);
        var sb = new StringBuilder(dropColumn ? "x1,color,label\n" : "x1,x2,color,label\n");
        string[] colors = ["red", "green", "blue"];
        for (int i = 0; i < rows; i++)
        {
            int label = i < rows * positiveShare ? 1 : 0;
            double x1 = label + random.NextDouble() * 1.5,
                x2 = -label + random.NextDouble() * 1.5;
            string color = colors[random.Next(3)];
            sb.Append(x1.ToString("0.####", CultureInfo.InvariantCulture)).Append(',');
            if (!dropColumn)
                sb.Append(x2.ToString("0.####", CultureInfo.InvariantCulture)).Append(',');
            sb.Append(color).Append(',').Append(label).Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private async Task<int[]> VersionsAsync(string model)
    {
        var response = await host.Http.GetAsync($"/api/models/{model}");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return [];
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return json.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).ToArray();
    }

    private async Task<int?> ProductionAsync(string model)
    {
        var json = await host.Http.GetFromJsonAsync<JsonElement>($"/api/models/{model}");
        return json.GetProperty("state").GetProperty("aliases").TryGetProperty("production", out var p)
            ? p.GetInt32()
            : null;
    }

    [Fact]
    public async Task ShiftedOrBrokenData_IsQuarantinedWithTheRightAnomaly_AndNoModelIsRegistered()
    {
        const string ds = "shift";
        await host.DropAsync(ds, "good.csv", Synthetic(600, 0.5, 1), """{"target":"label","task":"binary"}""");
        var good = await host.WaitForDropRunAsync(ds, "good.csv", TimeSpan.FromSeconds(90));
        Assert.Equal("promoted", FunctionHostFixture.Embedded(good, "output").GetProperty("outcome").GetString());
        Assert.Equal(new[] { 1 }, await VersionsAsync(ds));

        // Label balance 50/50 → 70/30: caught, quarantined, alert, no training.
        byte[] shifted = Synthetic(600, 0.7, 2);
        await host.DropAsync(ds, "shifted.csv", shifted);
        var rejected = await host.WaitForDropRunAsync(ds, "shifted.csv", TimeSpan.FromSeconds(90));
        output.WriteLine(rejected.ToString());
        Assert.Equal("Failed", rejected.GetProperty("runtimeStatus").GetString());
        Assert.Contains(
            "label",
            rejected.GetProperty("failureDetails").GetProperty("errorMessage").GetString(),
            StringComparison.OrdinalIgnoreCase
        );
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(shifted));
        var quarantined = await host.Storage.Blobs.ReadAsync("quarantine", $"{ds}/{hash}/data.csv");
        Assert.NotNull(quarantined);
        Assert.Equal(shifted, quarantined!.Data); // kept byte for byte
        var report = await host.Storage.Blobs.ReadAsync("quarantine", $"{ds}/{hash}/validation.json");
        Assert.Contains("label_shift", Encoding.UTF8.GetString(report!.Data));
        Assert.Equal(new[] { 1 }, await VersionsAsync(ds));

        // A dropped column: quarantined as column_missing, still no new model.
        byte[] missing = Synthetic(600, 0.5, 3, dropColumn: true);
        await host.DropAsync(ds, "missing.csv", missing);
        var broken = await host.WaitForDropRunAsync(ds, "missing.csv", TimeSpan.FromSeconds(90));
        Assert.Equal("Failed", broken.GetProperty("runtimeStatus").GetString());
        string hash2 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(missing));
        var report2 = await host.Storage.Blobs.ReadAsync("quarantine", $"{ds}/{hash2}/validation.json");
        Assert.Contains("column_missing", Encoding.UTF8.GetString(report2!.Data));
        Assert.Equal(new[] { 1 }, await VersionsAsync(ds));

        // The versions listing shows the outcome of each.
        var versions = await host.Http.GetFromJsonAsync<JsonElement>($"/api/datasets/{ds}");
        Assert.Contains("quarantined", versions.ToString());
    }

    [Fact]
    public async Task WorseCandidate_IsRegisteredButProductionStays_ThenManualApprovalBothWays()
    {
        const string ds = "gated";
        await host.DropAsync(
            ds,
            "data.csv",
            Synthetic(800, 0.5, 11),
            """{"target":"label","task":"binary","trainer":"gbdt"}"""
        );
        await host.WaitForDropRunAsync(ds, "data.csv", TimeSpan.FromSeconds(90));
        Assert.Equal(1, await ProductionAsync(ds));

        // A deliberately weak model (one stump) on the same data: the gate keeps v1.
        await host.DropAsync(ds, "ignored", [], null); // not a .csv: recorded as ignored, starts nothing
        await host.Storage.Blobs.WriteAsync(
            "incoming",
            $"{ds}/mlops.json",
            """{"target":"label","task":"binary","trainer":"gbdt","params":{"num_rounds":1,"num_leaves":2}}"""u8.ToArray()
        );
        var worse = await RunAsync(ds);
        var worseOut = FunctionHostFixture.Embedded(worse, "output");
        output.WriteLine(worseOut.ToString());
        Assert.Equal("gate-rejected", worseOut.GetProperty("outcome").GetString());
        Assert.Equal(2, worseOut.GetProperty("version").GetInt32());
        Assert.Equal(1, await ProductionAsync(ds));

        // Manual approval, approved: the run waits, the reviewer approves, production moves.
        await host.Storage.Blobs.WriteAsync(
            "incoming",
            $"{ds}/mlops.json",
            """{"target":"label","task":"binary","trainer":"gbdt","approval":"manual"}"""u8.ToArray()
        );
        string approvedRun = await StartRunAsync(ds);
        int candidate = await WaitForApprovalRequestAsync(approvedRun);
        Assert.Equal(1, await ProductionAsync(ds));
        // Who approves is the key, never the body: a body naming someone is refused, naming the field.
        var claimed = await host.Admin.PostAsJsonAsync(
            $"/api/models/{ds}/versions/{candidate}/approve",
            new { by = "alice", comment = "looks good" }
        );
        Assert.Equal(HttpStatusCode.BadRequest, claimed.StatusCode);
        Assert.Contains("by", await claimed.Content.ReadAsStringAsync());
        var approve = await host.Admin.PostAsJsonAsync(
            $"/api/models/{ds}/versions/{candidate}/approve",
            new { comment = "looks good" }
        );
        Assert.Equal(HttpStatusCode.Accepted, approve.StatusCode);
        var approved = await host.WaitForInstanceAsync(approvedRun, TimeSpan.FromSeconds(60));
        Assert.Equal("promoted", FunctionHostFixture.Embedded(approved, "output").GetProperty("outcome").GetString());
        Assert.Equal(candidate, await ProductionAsync(ds));
        // The ledger names the key that approved (its fingerprint, never the key), not a name from a body.
        var history = await host.Http.GetStringAsync($"/api/models/{ds}/history");
        Assert.Contains(Mlops.Functions.Hosting.CallerIdentity.Fingerprint(FunctionHostFixture.MasterKey), history);
        Assert.DoesNotContain(FunctionHostFixture.MasterKey, history);
        Assert.DoesNotContain("alice", history);

        // Manual approval, rejected: production stays where it is.
        string rejectedRun = await StartRunAsync(ds);
        int candidate2 = await WaitForApprovalRequestAsync(rejectedRun);
        Assert.Equal(
            HttpStatusCode.Accepted,
            (
                await host.Admin.PostAsJsonAsync(
                    $"/api/models/{ds}/versions/{candidate2}/reject",
                    new { comment = "not now" }
                )
            ).StatusCode
        );
        var rejected = await host.WaitForInstanceAsync(rejectedRun, TimeSpan.FromSeconds(60));
        Assert.Equal(
            "approval-rejected",
            FunctionHostFixture.Embedded(rejected, "output").GetProperty("outcome").GetString()
        );
        Assert.Equal(candidate, await ProductionAsync(ds));

        // Deciding again on a closed request is a clear 4xx, not a 500.
        var late = await host.Admin.PostAsync($"/api/models/{ds}/versions/{candidate2}/approve", null);
        Assert.True((int)late.StatusCode is >= 400 and < 500, late.StatusCode.ToString());
    }

    private async Task<string> StartRunAsync(string ds)
    {
        var run = await host.Admin.PostAsync($"/api/pipelines/{ds}/run", null);
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        return (await run.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private async Task<JsonElement> RunAsync(string ds) =>
        await host.WaitForInstanceAsync(await StartRunAsync(ds), TimeSpan.FromSeconds(90));

    private async Task<int> WaitForApprovalRequestAsync(string instanceId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            var status = await host.Http.GetFromJsonAsync<JsonElement>($"/api/orchestrations/{instanceId}");
            if (
                status.TryGetProperty("customStatus", out _)
                && status.GetProperty("customStatus").ValueKind != JsonValueKind.Null
            )
            {
                var custom = FunctionHostFixture.Embedded(status, "customStatus");
                if (custom.GetProperty("stage").GetString() == "awaiting-approval")
                    return custom.GetProperty("version").GetInt32();
            }
            Assert.NotEqual("Failed", status.GetProperty("runtimeStatus").GetString());
            await Task.Delay(250);
        }
        throw new TimeoutException($"{instanceId} never asked for approval.");
    }
}
