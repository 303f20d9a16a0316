using Mlops.Cli;
using Mlops.Testing.Chaos;

namespace Mlops.Bench.Chaos;

/// <summary>
/// The fault suite at full size: <c>chaos [--runs N] [--hosts N] [--outage SECONDS] [--kill-min S] [--kill-max S] [--seed N]</c>
/// (defaults 20 runs, 2 hosts, a SIGKILL every 8–20 s, a 20 s storage outage). Prints the timeline and the figures the README reports.
/// </summary>
public static class ChaosBench
{
    public static int Run(string[] args)
    {
        int Arg(string name, int fallback) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
        var options = new ChaosOptions
        {
            Runs = Arg("--runs", 20), Hosts = Arg("--hosts", 2), Outage = TimeSpan.FromSeconds(Arg("--outage", 20)), Seed = Arg("--seed", 7), Timeout = TimeSpan.FromMinutes(15),
            KillEverySeconds = (Arg("--kill-min", 8), Arg("--kill-max", 20)),
        };
        // Progress on stderr: runs promoted of all runs. CliProgress.Run is synchronous (a live bar must outlive the
        // work), so the suite is waited for inside it; the timeline still goes to stdout.
        var report = CliProgress.Run(CliProgress.ForStderr(quiet: args.Contains("--quiet")), addLine =>
        {
            var progress = addLine("chaos: runs promoted", options.Runs);
            progress.Report(0);
            return ChaosRun.RunAsync(options with { OnPromoted = promoted => progress.Report(promoted) }, Console.Out).GetAwaiter().GetResult();
        });
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        Console.WriteLine();
        Console.WriteLine($"| runs | hosts | SIGKILLs | storage outage | promoted | duplicate versions | stuck | lost blobs | wall time |");
        Console.WriteLine($"|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine($"| {report.Runs} | {options.Hosts} | {report.Kills} | {(report.OutageDone ? $"{options.Outage.TotalSeconds:F0} s" : "none")} | {report.Promoted} | {report.Duplicates} | {report.Stuck} | {report.LostBlobs} | {report.Seconds:F0} s |");
        Console.WriteLine($"load average {load}");
        foreach (string p in report.Problems) Console.WriteLine("problem: " + p);
        return report.Problems.Count == 0 ? 0 : 1;
    }
}
