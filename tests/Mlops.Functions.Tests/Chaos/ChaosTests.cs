using Mlops.Testing.Chaos;
using Xunit;
using Xunit.Abstractions;

namespace Mlops.Functions.Tests.Chaos;

/// <summary>
/// A short version of the fault suite (the full one is <c>bench -- chaos</c>: 20 runs and a 20 s storage outage):
/// two host processes on one account, one SIGKILLed every few seconds, plus a short storage outage.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoHosts_RandomSigkills_AndAStorageOutage_EveryRunPromotedOnce_NothingLost()
    {
        var log = new StringWriter();
        var report = await ChaosRun.RunAsync(
            new ChaosOptions
            {
                Runs = 5,
                Hosts = 2,
                KillEverySeconds = (3, 6),
                Outage = TimeSpan.FromSeconds(5),
                Timeout = TimeSpan.FromMinutes(4),
                Seed = 11,
            },
            log
        );
        output.WriteLine(log.ToString());
        output.WriteLine(report.ToString());
        Assert.True(report.Kills >= 1, "at least one host should have been killed mid-run");
        Assert.True(report.OutageDone);
        Assert.Empty(report.Problems);
        Assert.Equal(report.Runs, report.Promoted);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(0, report.LostBlobs);
    }

    [Theory]
    [InlineData(KillTarget.Worker)]
    [InlineData(KillTarget.HostGroup)]
    public async Task OneSigkillMidRun_EveryRunPromotedOnce_WorkResumesWithin30Seconds(KillTarget target)
    {
        var log = new StringWriter();
        var report = await KillOnceRun.RunAsync(target, runs: 4, log);
        output.WriteLine(log.ToString());
        output.WriteLine(report.ToString());
        Assert.Empty(report.Problems);
        Assert.True(report.InFlightAtKill >= 1, "the kill should land while runs are in flight");
        Assert.Equal(report.Runs, report.Promoted);
        Assert.Equal(0, report.Duplicates);
        Assert.True(report.ResumedAfterSeconds <= 30, $"work resumed {report.ResumedAfterSeconds:F1} s after the kill");
    }
}
