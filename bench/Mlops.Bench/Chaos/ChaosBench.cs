using Mlops.Cli;
using Mlops.Testing.Chaos;

namespace Mlops.Bench.Chaos;

/// <summary>
/// The fault suite at full size: <c>chaos [--runs N] [--hosts N] [--outage SECONDS] [--kill-min S] [--kill-max S]
/// [--seed N]</c> (defaults 20 runs, 2 hosts, a SIGKILL every 8–20 s, a 20 s storage outage). Prints the timeline and
/// the figures the README reports.
/// </summary>
public static class ChaosBench
{
    public static int Run(string[] args)
    {
        if (args.Contains("--kill-once"))
            return KillOnce(args);
        int Arg(string name, int fallback) =>
            Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v)
                ? v
                : fallback;
        var options = new ChaosOptions
        {
            Runs = Arg("--runs", 20),
            Hosts = Arg("--hosts", 2),
            Outage = TimeSpan.FromSeconds(Arg("--outage", 20)),
            Seed = Arg("--seed", 7),
            Timeout = TimeSpan.FromMinutes(15),
            KillEverySeconds = (Arg("--kill-min", 8), Arg("--kill-max", 20)),
        };
        // Progress on stderr: runs promoted of all runs. CliProgress.Run is synchronous (a live bar must outlive the
        // work), so the suite is waited for inside it; the timeline still goes to stdout.
        var report = CliProgress.Run(CliProgress.ForStderr(quiet: args.Contains("--quiet")), addLine =>
        {
            var progress = addLine("chaos: runs promoted", options.Runs);
            progress.Report(0);
            return ChaosRun
                .RunAsync(options with { OnPromoted = promoted => progress.Report(promoted) }, Console.Out)
                .GetAwaiter()
                .GetResult();
        });
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        Console.WriteLine();
        Console.WriteLine(
            $"| runs | hosts | SIGKILLs | storage outage | promoted | duplicate versions | stuck | lost blobs | wall time |"
        );
        Console.WriteLine($"|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine(
            $"| {report.Runs} | {options.Hosts} | {report.Kills} | {(report.OutageDone ? $"{options.Outage.TotalSeconds:F0} s" : "none")} | {report.Promoted} | {report.Duplicates} | {report.Stuck} | {report.LostBlobs} | {report.Seconds:F0} s |"
        );
        Console.WriteLine($"load average {load}");
        foreach (string p in report.Problems)
            Console.WriteLine("problem: " + p);
        return report.Problems.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// <c>chaos --kill-once [--runs N]</c>: one SIGKILL of a host's worker, then one of a host's whole process group,
    /// each while N runs are in flight on two hosts; prints how long until the work moved again and the version count.
    /// </summary>
    private static int KillOnce(string[] args)
    {
        int runs =
            Array.IndexOf(args, "--runs") is int i and >= 0
            && i + 1 < args.Length
            && int.TryParse(args[i + 1], out int n)
                ? n
                : 6;
        Console.WriteLine(
            "| SIGKILL of | runs | in flight at the kill | work resumed after | promoted | duplicate versions | wall time | load |"
        );
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        int failures = 0;
        foreach (var target in new[] { KillTarget.Worker, KillTarget.HostGroup })
        {
            var log = new StringWriter();
            var report = KillOnceRun.RunAsync(target, runs, log).GetAwaiter().GetResult();
            Console.Error.Write(log.ToString());
            string load = File.Exists("/proc/loadavg")
                ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))
                : "n/a";
            string what =
                target == KillTarget.Worker
                    ? "the worker alone (host restarts it)"
                    : "host + worker process group (second host takes over)";
            string resumed = report.ResumedAfterSeconds is { } r ? $"{r:F1} s" : "never";
            Console.WriteLine(
                $"| {what} | {report.Runs} | {report.InFlightAtKill} | {resumed} | "
                    + $"{report.Promoted} | {report.Duplicates} | {report.Seconds:F0} s | {load} |"
            );
            foreach (string p in report.Problems)
                Console.WriteLine("problem: " + p);
            if (report.Problems.Count > 0 || report.ResumedAfterSeconds > 30)
                failures++;
        }
        return failures == 0 ? 0 : 1;
    }
}
