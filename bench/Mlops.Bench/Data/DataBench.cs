using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Mlops.Core.Storage;
using Mlops.Data.Profiling;
using Mlops.Data.Schema;
using Mlops.Data.Validation;
using Mlops.Data.Versions;
using Mlops.Storage.Azure;
using Mlops.Storage.InMemory;

namespace Mlops.Bench.Data;

/// <summary>
/// Ingest + profile + validate throughput on a large CSV (default /tmp/synth_1m.csv from make_synth.py):
/// the stages alone, then the whole <see cref="DatasetStore.IngestAsync(string, ReadOnlyMemory{byte}, string?,
/// IngestOptions?, CancellationToken)"/> on the in-memory doubles and on Azurite. Usage: <c>dotnet run -c Release
/// --project bench/Mlops.Bench -- data [csv] [--no-azurite]</c>.
/// </summary>
public static class DataBench
{
    public static async Task RunAsync(string[] args)
    {
        string path = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "/tmp/synth_1m.csv";
        bool azurite = !args.Contains("--no-azurite");
        if (!File.Exists(path))
        {
            Console.Error.WriteLine(
                $"{path} not found: /usr/bin/python3 /work/shared/peers/make_synth.py 1000000 {path}"
            );
            return;
        }

        var sw = Stopwatch.StartNew();
        byte[] v1 = await File.ReadAllBytesAsync(path);
        // A second, different version: the same rows plus one repeated row (new hash, same distribution).
        int firstNl = Array.IndexOf(v1, (byte)'\n'),
            secondNl = Array.IndexOf(v1, (byte)'\n', firstNl + 1);
        byte[] v2 = [.. v1, .. v1.AsSpan(firstNl + 1, secondNl - firstNl)];
        double mb = v1.Length / 1e6;
        Console.WriteLine(
            $"data bench: {path} {mb:F1} MB, read in {sw.Elapsed.TotalSeconds:F2} s; {Environment.ProcessorCount} cores"
        );

        var options = new IngestOptions("target", ValidationOptions.Default);
        await WarmUpAsync(options);

        var rows = new List<(string Stage, double Seconds, double Cpu, long Rows, long Bytes)>();
        var cpu = System.Diagnostics.Process.GetCurrentProcess();
        TimeSpan Cpu()
        {
            cpu.Refresh();
            return cpu.TotalProcessorTime;
        }
        var c0 = Cpu();
        // ---- stages alone
        sw.Restart();
        c0 = Cpu();
        DatasetStore.ComputeHash(v1);
        rows.Add(("SHA-256", sw.Elapsed.TotalSeconds, (Cpu() - c0).TotalSeconds, 0, v1.Length));
        sw.Restart();
        c0 = Cpu();
        var t1 = CsvTableParser.Default.Parse(v1);
        rows.Add(
            ("CSV parse (reader from `ml`)", sw.Elapsed.TotalSeconds, (Cpu() - c0).TotalSeconds, t1.RowCount, v1.Length)
        );
        sw.Restart();
        c0 = Cpu();
        var p1 = DataProfiler.Profile(t1, "target");
        rows.Add(("profile", sw.Elapsed.TotalSeconds, (Cpu() - c0).TotalSeconds, t1.RowCount, v1.Length));
        var schema = SchemaInference.Infer(p1, ValidationOptions.Default, "synth");
        var t2 = CsvTableParser.Default.Parse(v2);
        var p2 = DataProfiler.Profile(t2, "target");
        sw.Restart();
        c0 = Cpu();
        var report = DataValidator.Validate(t2, p2, schema, t1, p1, ValidationOptions.Default, "target");
        rows.Add(
            (
                "validate + drift, 29 columns (Wasserstein/JS)",
                sw.Elapsed.TotalSeconds,
                (Cpu() - c0).TotalSeconds,
                t2.RowCount,
                v2.Length
            )
        );
        Console.WriteLine(
            $"validation of v2 against v1: {report.Outcome}, {report.Drift.Count} drift results, {report.Anomalies.Count} anomalies"
        );
        t1 = null!;
        t2 = null!;
        p1 = null!;
        p2 = null!;
        GC.Collect();

        // ---- whole ingest, in memory
        await IngestRowsAsync(
            "in-memory",
            new InMemoryBlobStore(),
            new InMemoryTableStore(),
            v1,
            v2,
            options,
            rows,
            Cpu
        );
        GC.Collect();

        // ---- whole ingest, Azurite
        if (azurite)
        {
            await using var az = await Azurite.StartAsync();
            if (az is null)
                Console.WriteLine("Azurite not installed (run npm install at the repo root); skipped.");
            else
            {
                var s = AzureStorageAccount.Connect(az.ConnectionString);
                await IngestRowsAsync("Azurite", s.Blobs, s.Tables, v1, v2, options, rows, Cpu);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| stage | wall s | CPU s (this process) | MB/s | rows/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (stage, sec, cpuSec, n, bytes) in rows)
            Console.WriteLine(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {stage} | {sec:F2} | {cpuSec:F2} | {bytes / 1e6 / sec:F1} | {(n == 0 ? "–" : (n / sec).ToString("N0", CultureInfo.InvariantCulture))} |"
                )
            );
    }

    private static async Task IngestRowsAsync(
        string where,
        IBlobStore blobs,
        ITableStore tables,
        byte[] v1,
        byte[] v2,
        IngestOptions options,
        List<(string, double, double, long, long)> rows,
        Func<TimeSpan> cpu
    )
    {
        var c0 = cpu();
        var store = new DatasetStore(blobs, tables);
        var sw = Stopwatch.StartNew();
        var r1 = await store.IngestAsync("synth", v1, "synth_1m.csv", options);
        rows.Add(
            (
                $"{where}: ingest v1 (store, parse, profile, infer schema, index)",
                sw.Elapsed.TotalSeconds,
                (cpu() - c0).TotalSeconds,
                r1.Version.Rows,
                v1.Length
            )
        );
        sw.Restart();
        c0 = cpu();
        var r2 = await store.IngestAsync("synth", v2, "synth_1m_b.csv", options);
        rows.Add(
            (
                $"{where}: ingest v2 (+ validate and drift vs v1)",
                sw.Elapsed.TotalSeconds,
                (cpu() - c0).TotalSeconds,
                r2.Version.Rows,
                v2.Length
            )
        );
        sw.Restart();
        c0 = cpu();
        var r3 = await store.IngestAsync("synth", v2, "synth_1m_b_again.csv", options);
        rows.Add(
            (
                $"{where}: re-ingest identical v2 (dedupe)",
                sw.Elapsed.TotalSeconds,
                (cpu() - c0).TotalSeconds,
                r3.Version.Rows,
                v2.Length
            )
        );
        Console.WriteLine(
            $"{where}: v1 {r1.Outcome} new={r1.IsNew}; v2 {r2.Outcome} new={r2.IsNew}; again new={r3.IsNew}"
        );
        var fresh = new DatasetStore(blobs, tables); // no cached reference: what a new process pays
        sw.Restart();
        c0 = cpu();
        var t = await fresh.LoadTableAsync("synth", r2.Hash);
        rows.Add(
            (
                $"{where}: load a version (read + parse)",
                sw.Elapsed.TotalSeconds,
                (cpu() - c0).TotalSeconds,
                t.RowCount,
                v2.Length
            )
        );
    }

    private static async Task WarmUpAsync(IngestOptions options)
    {
        // JIT the whole path on a small file so the first timed stage is not charged for compilation.
        var sb = new System.Text.StringBuilder("a,b,c,target\n");
        var rng = new Random(1);
        for (int i = 0; i < 5000; i++)
            sb.Append(
                CultureInfo.InvariantCulture,
                $"{rng.NextDouble()},{rng.NextDouble()},{(i % 3 == 0 ? "x" : "y")},{i % 2}\n"
            );
        var bytes = System.Text.Encoding.UTF8.GetBytes(sb.ToString());
        var store = new DatasetStore(new InMemoryBlobStore(), new InMemoryTableStore());
        await store.IngestAsync("warm", bytes, null, options);
        await store.IngestAsync(
            "warm",
            (ReadOnlyMemory<byte>)(byte[])[.. bytes, .. "0.5,0.5,x,1\n"u8.ToArray()],
            null,
            options
        );
    }

    /// <summary>Minimal Azurite launcher (in-memory persistence, free ports) from the repo's node_modules.</summary>
    private sealed class Azurite : IAsyncDisposable
    {
        private Process? _p;
        public string ConnectionString { get; private init; } = "";

        public static async Task<Azurite?> StartAsync()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MlopsFunctions.sln")))
                dir = dir.Parent;
            string exe = Path.Combine(dir?.FullName ?? ".", "node_modules", ".bin", "azurite");
            if (!File.Exists(exe))
                return null;
            int b = Port(),
                q = Port(),
                t = Port();
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (
                var a in new[]
                {
                    "--silent",
                    "--inMemoryPersistence",
                    "--disableTelemetry",
                    "--skipApiVersionCheck",
                    "--loose",
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    b.ToString(),
                    "--queueHost",
                    "127.0.0.1",
                    "--queuePort",
                    q.ToString(),
                    "--tableHost",
                    "127.0.0.1",
                    "--tablePort",
                    t.ToString(),
                }
            )
                psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            foreach (int port in new[] { b, q, t })
                for (int i = 0; i < 300 && !Listening(port); i++)
                    await Task.Delay(100);
            return new Azurite
            {
                _p = p,
                ConnectionString =
                    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                    + $"BlobEndpoint=http://127.0.0.1:{b}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{q}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{t}/devstoreaccount1;",
            };
        }

        public async ValueTask DisposeAsync()
        {
            if (_p is null)
                return;
            try
            {
                _p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException) { }
            await _p.WaitForExitAsync();
            _p.Dispose();
        }

        private static int Port()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int p = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return p;
        }

        private static bool Listening(int port)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
