using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mlops.Cli;

namespace Mlops.Bench.Ml;

/// <summary>
/// <c>ml-outofcore --train TRAIN.csv --test TEST.csv [--sizes 10000000,20000000] [--cases streaming,memory,lightgbm]
/// [--heap 0x100000000] [--rounds N] [--skip-full]</c>: the Release CLI (<c>functions/Mlops.Cli</c>, built first) as a
/// child process under <c>/usr/bin/time -v</c> with
/// <c>DOTNET_GCHeapHardLimit</c> (default 4 GB), back to back: our streaming trainer on the whole file, then for each
/// prefix size, our streaming trainer, our in-memory trainer and Microsoft.ML's LightGBM (in memory). All three grow
/// the same shape (63 leaves, depth 6, learning rate 0.3, 100 rounds). Prints one markdown row per run with the
/// 1-minute load average read just before it (the machine is shared), wall time, peak RSS, test AUC, and how a failed
/// run ended. Training data: <c>bench/Mlops.Bench/Ml/synth_stream.py ROWS OUT.csv SEED</c> (constant memory at any
/// size).
/// </summary>
public static class MlOutOfCore
{
    private const string Shape = "-p num_leaves=63 -p max_depth=6 -p learning_rate=0.3";

    private sealed record Case(string What, string Train, long Rows, string Extra);

    public static int Run(string[] args)
    {
        string? Arg(string name) =>
            Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        string train = Arg("--train") ?? throw new ArgumentException("--train TRAIN.csv is required");
        string test = Arg("--test") ?? throw new ArgumentException("--test TEST.csv is required");
        string heap = Arg("--heap") ?? "0x100000000";
        string rounds = Arg("--rounds") ?? "100";
        var sizes = (Arg("--sizes") ?? "10000000,20000000")
            .Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture))
            .ToArray();
        string root = Durable.DurableBench.FindRepoRoot();
        string cli = Path.Combine(root, "functions/Mlops.Cli/bin/Release/net10.0/Mlops.Cli.dll");
        if (!File.Exists(cli))
            throw new InvalidOperationException(
                $"Build the CLI first: dotnet build -c Release functions/Mlops.Cli ({cli} is missing)."
            );

        // The whole file first: it is the run that matters most, and the longest.
        var cases = new List<Case>();
        if (!args.Contains("--skip-full"))
            cases.Add(new("ours, streaming (--out-of-core)", train, CountRows(train), "--out-of-core"));
        var kinds = (Arg("--cases") ?? "streaming,memory,lightgbm").Split(',');
        foreach (long rows in sizes)
        {
            string prefix = Prefix(train, rows);
            if (kinds.Contains("streaming"))
                cases.Add(new("ours, streaming (--out-of-core)", prefix, rows, "--out-of-core"));
            if (kinds.Contains("memory"))
                cases.Add(new("ours, in memory (engine=mlops)", prefix, rows, "-p engine=mlops --out-of-core false"));
            if (kinds.Contains("lightgbm"))
                cases.Add(
                    new(
                        "Microsoft.ML LightGBM, in memory (engine=lightgbm)",
                        prefix,
                        rows,
                        "-p engine=lightgbm --out-of-core false"
                    )
                );
        }

        Console.WriteLine(
            $"ml-outofcore: DOTNET_GCHeapHardLimit={heap} ({Convert.ToInt64(heap, 16) / 1073741824.0:F1} GB), {Environment.ProcessorCount} cores, test file {Path.GetFileName(test)}, {rounds} rounds, shape {Shape}"
        );
        Console.WriteLine("| what | training rows | load avg before | wall s | peak RSS MB | test AUC | outcome |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        // Progress on stderr (cases run, ETA); each case's row still goes to stdout as soon as it is measured.
        CliProgress.Run(CliProgress.ForStderr(quiet: args.Contains("--quiet")), addLine =>
        {
            var progress = addLine("ml-outofcore", cases.Count);
            foreach (var (c, i) in cases.Select((c, i) => (c, i)))
            {
                progress.Report(i, description: $"ml-outofcore: {c.What}, {c.Rows:N0} rows");
                Console.WriteLine(Measure(c, cli, test, heap, rounds));
            }
            progress.Report(cases.Count, description: "ml-outofcore: all cases");
            return 0;
        });
        Console.WriteLine($"load average at end: {Serve.ServeBench.LoadAverage()}");
        return 0;
    }

    private static string Measure(Case c, string cli, string test, string heap, string rounds)
    {
        string load = Serve.ServeBench.LoadAverage().Split(' ')[0];
        string model = Path.Combine(Path.GetTempPath(), $"mlops-ooc-bench-{Environment.ProcessId}.json");
        var psi = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (
            var a in new[]
            {
                "-v",
                "dotnet",
                cli,
                "train",
                c.Train,
                "--target",
                "target",
                "--task",
                "binary",
                "--test",
                test,
                "--json",
                "--out",
                model,
                "-p",
                $"num_rounds={rounds}",
            }
                .Concat(Shape.Split(' '))
                .Concat(c.Extra.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        )
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_GCHeapHardLimit"] = heap;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        string wall = Regex.Match(stderr, @"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)").Groups[1].Value;
        double rssMb = long.TryParse(
            Regex.Match(stderr, @"Maximum resident set size \(kbytes\): (\d+)").Groups[1].Value,
            out long kb
        )
            ? kb / 1024.0
            : double.NaN;
        string auc = "–",
            outcome;
        if (p.ExitCode == 0 && stdout.Result.Trim() is { Length: > 0 } json)
        {
            var doc = JsonDocument.Parse(json).RootElement;
            auc = doc.GetProperty("metrics")
                .GetProperty("auc")
                .GetDouble()
                .ToString("F4", CultureInfo.InvariantCulture);
            outcome =
                $"ok: load {doc.GetProperty("load_seconds").GetDouble():F0} s, train {doc.GetProperty("train_seconds").GetDouble():F0} s"
                + (
                    doc.TryGetProperty("out_of_core", out var s) && s.ValueKind == JsonValueKind.Object
                        ? $" (scan {s.GetProperty("scan_seconds").GetDouble():F0} + bin {s.GetProperty("bin_seconds").GetDouble():F0} + boost {s.GetProperty("boost_seconds").GetDouble():F0}), {s.GetProperty("binned_bytes").GetInt64() / 1048576.0:F0} MB of bins"
                        : ""
                );
        }
        else
        {
            var lines = stderr
                .Split('\n')
                .Where(l =>
                    !l.StartsWith('\t')
                    && !string.IsNullOrWhiteSpace(l)
                    && !l.StartsWith("Command ", StringComparison.Ordinal)
                )
                .ToArray();
            string why = lines.FirstOrDefault(l =>
                l.Contains("OutOfMemory", StringComparison.Ordinal)
                || l.Contains("memory", StringComparison.OrdinalIgnoreCase)
            )
                ?? lines.LastOrDefault()
                ?? "";
            outcome = $"failed (exit {p.ExitCode}): {(why.Length > 160 ? why[..160] + "…" : why).Replace('|', '/')}";
        }
        File.Delete(model);
        return $"| {c.What} | {c.Rows:N0} | {load} | {ParseWall(wall):F0} | {rssMb:F0} | {auc} | {outcome} |";
    }

    private static double ParseWall(string s)
    {
        var parts = s.Split(':').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return parts.Aggregate(0.0, (acc, x) => acc * 60 + x);
    }

    /// <summary>The first <paramref name="rows"/> data rows of <paramref name="path"/> (cached next to it): a valid
    /// smaller set from the same generator.</summary>
    private static string Prefix(string path, long rows)
    {
        string prefix = Path.Combine(
            Path.GetDirectoryName(path)!,
            $"{Path.GetFileNameWithoutExtension(path)}.head{rows}.csv"
        );
        if (File.Exists(prefix))
            return prefix;
        using var reader = new StreamReader(path, Encoding.UTF8, false, 1 << 20);
        using var writer = new StreamWriter(prefix + ".tmp", false, new UTF8Encoding(false), 1 << 20);
        for (long i = 0; i <= rows && reader.ReadLine() is { } line; i++)
            writer.WriteLine(line);
        writer.Close();
        File.Move(prefix + ".tmp", prefix);
        return prefix;
    }

    private static long CountRows(string path)
    {
        long lines = 0;
        var buffer = new byte[1 << 20];
        using var stream = File.OpenRead(path);
        int n;
        while ((n = stream.Read(buffer)) > 0)
            lines += buffer.AsSpan(0, n).Count((byte)'\n');
        return lines - 1; // the header
    }
}
