using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mlops.Host.Hosting;

/// <summary>
/// The run command's embedded storage: installs Azurite from the repo's package.json (npm) when missing and runs it on
/// the emulator's standard ports (blob 10000, queue 10001, table 10002), data kept under the git-ignored
/// <c>.azurite/</c>. It runs in a session of its own, as storage does in Azure: a host that crashes (even SIGKILL of
/// its process group) leaves it running with its last writes, and the next start reuses it (found through
/// <c>.azurite/azurite.pid</c>). A clean stop (Ctrl-C, SIGTERM) stops the Azurite this host owns: the one it started,
/// or one it reused whose owner (<c>.azurite/azurite.owner</c>, a host's process id) is gone. A host started beside a
/// running one (another port, the same storage) shares that host's Azurite and never stops it.
/// </summary>
public sealed class LocalAzurite : IDisposable
{
    public static readonly int[] Ports = [10000, 10001, 10002];
    private Process? _process;
    private string? _pidFile;
    private string? _ownerFile; // set when this host owns the Azurite: it stops it on a clean stop

    /// <summary>Fails with a readable message naming each busy port.</summary>
    public static void EnsurePortsFree(IEnumerable<(int Port, string What)> ports)
    {
        var busy = ports.Where(p => IsListening(p.Port)).ToList();
        if (busy.Count > 0)
            throw new PortInUseException(
                "Port(s) already in use: "
                    + string.Join(", ", busy.Select(b => $"{b.Port} ({b.What})"))
                    + ". Stop the program using them, or set MLOPS_HTTP_PORT / AzureWebJobsStorage to use other ports or an existing storage account."
            );
    }

    /// <summary>The Azurite a previous run started and left running (after a crash), when it still serves the emulator
    /// ports.</summary>
    public static int? RunningFromEarlierRun(string repoRoot)
    {
        string pidFile = Path.Combine(repoRoot, ".azurite", "azurite.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid))
            return null;
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited && Ports.All(IsListening) ? pid : null;
        }
        catch (ArgumentException)
        {
            return null;
        } // no such process
    }

    public async Task StartAsync(string repoRoot, TextWriter log, CancellationToken cancellationToken = default)
    {
        if (RunningFromEarlierRun(repoRoot) is { } running)
        {
            _process = Process.GetProcessById(running);
            _pidFile = Path.Combine(repoRoot, ".azurite", "azurite.pid");
            if (LiveOwner(repoRoot) is { } owner)
            {
                log.WriteLine($"Sharing the Azurite of the host running beside this one (pid {owner}), pid {running}");
                return;
            }
            TakeOwnership(repoRoot); // left by a crashed run: a clean stop of this host stops it, as if started here
            log.WriteLine(
                $"Reusing the Azurite left running by an earlier run (pid {running}), data in {Path.Combine(repoRoot, ".azurite")}"
            );
            return;
        }
        string exe = Path.Combine(repoRoot, "node_modules", ".bin", "azurite");
        if (!File.Exists(exe))
        {
            log.WriteLine("Installing Azurite (npm install, first run only)...");
            var npm = Process.Start(
                new ProcessStartInfo("npm", "install --no-audit --no-fund --loglevel=error")
                {
                    WorkingDirectory = repoRoot,
                    UseShellExecute = false,
                }
            )
                ?? throw new InvalidOperationException(
                    "Could not start npm. Install Node.js (npm) or set AzureWebJobsStorage to a storage account."
                );
            await npm.WaitForExitAsync(cancellationToken);
            if (npm.ExitCode != 0 || !File.Exists(exe))
                throw new InvalidOperationException(
                    $"npm install failed (exit {npm.ExitCode}); Azurite is needed for local storage."
                );
        }
        string data = Path.Combine(repoRoot, ".azurite");
        Directory.CreateDirectory(data);
        // setsid: a session of its own, so a signal to the host's process group (a crash, a killed terminal job) spares
        // it.
        var psi = new ProcessStartInfo("setsid")
        {
            ArgumentList =
            {
                exe,
                "--silent",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
                "--location",
                data,
                "--blobHost",
                "127.0.0.1",
                "--queueHost",
                "127.0.0.1",
                "--tableHost",
                "127.0.0.1",
            },
            UseShellExecute = false, // no redirected pipes: they would break (and take Azurite down) when the host dies
        };
        _process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start Azurite.");
        _pidFile = Path.Combine(data, "azurite.pid");
        await File.WriteAllTextAsync(_pidFile, _process.Id.ToString(), cancellationToken);
        TakeOwnership(repoRoot);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (int port in Ports)
            while (!IsListening(port))
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode}.");
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"Azurite did not listen on {port} within 60 s.");
                await Task.Delay(100, cancellationToken);
            }
        log.WriteLine($"Azurite started (blob 10000, queue 10001, table 10002), data in {data}");
    }

    private static string OwnerFile(string repoRoot) => Path.Combine(repoRoot, ".azurite", "azurite.owner");

    private void TakeOwnership(string repoRoot)
    {
        _ownerFile = OwnerFile(repoRoot);
        File.WriteAllText(_ownerFile, Environment.ProcessId.ToString());
    }

    /// <summary>The process id of another live process that owns the running Azurite, if any.</summary>
    public static int? LiveOwner(string repoRoot)
    {
        string file = OwnerFile(repoRoot);
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), out int pid))
            return null;
        if (pid == Environment.ProcessId)
            return null;
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited ? null : pid;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        try
        {
            if (_ownerFile is not null) // a shared Azurite stays for the host that owns it
            {
                if (_process is { HasExited: false })
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5000);
                }
                foreach (string? file in new[] { _pidFile, _ownerFile })
                    if (file is not null && File.Exists(file))
                        File.Delete(file);
            }
        }
        catch (InvalidOperationException) { }
        _process?.Dispose();
        _process = null;
    }

    public static bool IsListening(int port)
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

    /// <summary>Finds the repository root (folder of MlopsFunctions.sln) from the working directory or the binary's
    /// folder.</summary>
    public static string? FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MlopsFunctions.sln")))
                dir = dir.Parent;
            if (dir is not null)
                return dir.FullName;
        }
        return null;
    }
}
