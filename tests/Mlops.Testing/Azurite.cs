using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Mlops.Testing;

/// <summary>
/// Starts a private Azurite (blob, queue, table) on free loopback ports with in-memory persistence, for one test class
/// or collection, and stops it afterwards. Installs Azurite from the repo's package.json on first use, so a clean clone
/// with only the .NET SDK and Node.js can run the suite. Also used to stop/start storage mid-run (outage tests).
/// </summary>
public sealed class AzuriteInstance : IAsyncDisposable
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private Process? _process;

    public int BlobPort { get; private set; }
    public int QueuePort { get; private set; }
    public int TablePort { get; private set; }

    /// <summary>The well-known devstoreaccount1 key, on this instance's ports.</summary>
    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        + $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;"
        + $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    public static async Task<AzuriteInstance> StartAsync(CancellationToken cancellationToken = default)
    {
        var instance = new AzuriteInstance
        {
            BlobPort = FreePort(),
            QueuePort = FreePort(),
            TablePort = FreePort(),
        };
        await instance.StartProcessAsync(cancellationToken);
        return instance;
    }

    /// <summary>Folder of on-disk persistence; null means in-memory (data lost on restart).</summary>
    public string? Location { get; private set; }

    /// <summary>Starts an Azurite that persists to <paramref name="location"/>, so data survives <see
    /// cref="RestartAsync"/>.</summary>
    public static async Task<AzuriteInstance> StartAsync(string location, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(location);
        var instance = new AzuriteInstance
        {
            BlobPort = FreePort(),
            QueuePort = FreePort(),
            TablePort = FreePort(),
            Location = location,
        };
        await instance.StartProcessAsync(cancellationToken);
        return instance;
    }

    /// <summary>Starts Azurite again on the same ports (after <see cref="StopAsync"/>). In-memory data is
    /// lost.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(cancellationToken);

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        string exe = await EnsureInstalledAsync(cancellationToken);
        var psi = new ProcessStartInfo(exe)
        {
            ArgumentList =
            {
                "--silent",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                BlobPort.ToString(),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                QueuePort.ToString(),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                TablePort.ToString(),
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Location is null)
            psi.ArgumentList.Add("--inMemoryPersistence");
        else
        {
            psi.ArgumentList.Add("--location");
            psi.ArgumentList.Add(Location);
        }
        _process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start Azurite.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (int port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!IsListening(port))
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode}.");
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"Azurite did not listen on port {port} within 60 s.");
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>Kills the Azurite process (simulates a storage outage).</summary>
    public async Task StopAsync()
    {
        if (_process is null)
            return;
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    /// <summary>
    /// Stops Azurite with SIGTERM so it flushes its on-disk store first (a hard kill loses up to 5 s of acknowledged
    /// writes, which no real storage outage does). Falls back to a kill after 10 s.
    /// </summary>
    public async Task StopGracefullyAsync()
    {
        if (_process is null)
            return;
        if (!_process.HasExited && OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            _ = SysKill(_process.Id, 15);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) { }
        await StopAsync();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>Finds the repository root (the folder holding package.json next to MlopsFunctions.sln).</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MlopsFunctions.sln")))
            dir = dir.Parent;
        return dir?.FullName
            ?? throw new InvalidOperationException(
                "Repository root (MlopsFunctions.sln) not found above " + AppContext.BaseDirectory
            );
    }

    private static async Task<string> EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        string root = RepoRoot();
        string exe = Path.Combine(root, "node_modules", ".bin", "azurite");
        if (File.Exists(exe))
            return exe;
        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            if (File.Exists(exe))
                return exe;
            // npm install is idempotent and uses package-lock.json, so concurrent test runs converge on one version.
            var psi = new ProcessStartInfo("npm", "install --no-audit --no-fund --loglevel=error")
            {
                WorkingDirectory = root,
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var npm = Process.Start(psi)!;
            string err = await npm.StandardError.ReadToEndAsync(cancellationToken);
            await npm.WaitForExitAsync(cancellationToken);
            if (npm.ExitCode != 0 || !File.Exists(exe))
                throw new InvalidOperationException($"npm install of Azurite failed ({npm.ExitCode}): {err}");
            return exe;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    /// <summary>A loopback port nothing listens on right now (for hosts and emulators started by tests and
    /// benchmarks).</summary>
    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static bool IsListening(int port)
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

/// <summary>xUnit class fixture: one Azurite per test class.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteInstance Azurite { get; private set; } = null!;
    public string ConnectionString => Azurite.ConnectionString;

    public async Task InitializeAsync() => Azurite = await AzuriteInstance.StartAsync();

    public async Task DisposeAsync() => await Azurite.DisposeAsync();
}
