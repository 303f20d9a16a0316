using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>A batch job survives its host: SIGKILL mid-job, start the host again, every row is scored exactly
/// once.</summary>
public sealed class BatchCrashResumeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SigkillMidJob_HostRestarted_JobCompletes_EveryRowExactlyOnce()
    {
        await using var host = await FunctionHostFixture.StartAsync("batch-crash");
        string model = await BatchScoringEndToEndTests.RegisterAsync(host.Storage);
        const int rows = 60_000;
        await host.Storage.Blobs.WriteAsync("scoring", $"{model}/big.json", """{"chunkRows":500}"""u8.ToArray());
        await host.Storage.Blobs.WriteAsync("scoring", $"{model}/big.csv", BatchScoringEndToEndTests.Input(rows));

        // Kill as soon as some rows are scored and the job is not done.
        var running = await BatchScoringEndToEndTests.WaitForJobAsync(
            host.Http,
            model,
            $"{model}/big.csv",
            TimeSpan.FromSeconds(120),
            j =>
                j.GetProperty("rowsScored").GetInt64() > 0
                || j.GetProperty("status").GetString() is "Completed" or "Failed"
        );
        output.WriteLine("before the kill: " + running);
        Assert.Equal("Running", running.GetProperty("status").GetString());
        Assert.True(
            running.GetProperty("rowsScored").GetInt64() < rows,
            "the job finished before the kill; make the input larger"
        );
        await host.Host.KillAsync();
        host.Host.Start();
        await host.Host.WaitHealthyAsync(TimeSpan.FromSeconds(120));

        var job = await BatchScoringEndToEndTests.WaitForJobAsync(
            host.Http,
            model,
            $"{model}/big.csv",
            TimeSpan.FromSeconds(240)
        );
        output.WriteLine("after: " + job);
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        var scored = await BatchScoringEndToEndTests.ScoredRowsAsync(host.Storage, job);
        Assert.Equal(rows, scored.Count);
        Assert.Equal((long)rows * (rows + 1) / 2, scored.Sum());
        Assert.Equal(rows, scored.Distinct().Count());
        Assert.Equal(rows, job.GetProperty("rowsScored").GetInt64());
    }
}
