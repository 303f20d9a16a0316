using System.Diagnostics;
using System.Net;

namespace Mlops.Testing.Chaos;

/// <summary>A function host as its own OS process (the built Mlops.Functions.dll), so a test can SIGKILL it.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    public const string FunctionKey = "chaos-function-key";
    public const string MasterKey = "chaos-master-key";

    private readonly string _dll, _connectionString;
    private Process? _process;

    public HostProcess(string dll, string connectionString, int port, string hostName)
    {
        _dll = dll;
        _connectionString = connectionString;
        Port = port;
        Name = hostName;
    }

    public int Port { get; }
    public string Name { get; }
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The built host next to the test or bench binaries' repository (any configuration).</summary>
    public static string FindHostDll()
    {
        string root = AzuriteInstance.RepoRoot();
        var candidates = new[] { "Release", "Debug" }.Select(c => Path.Combine(root, "functions", "Mlops.Functions", "bin", c, "net10.0", "Mlops.Functions.dll")).Where(File.Exists);
        return candidates.OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
               ?? throw new FileNotFoundException("Build functions/Mlops.Functions first (dotnet build).");
    }

    /// <summary>Copies the host's build output folder to <paramref name="target"/>; returns the copied dll's path.</summary>
    public static string CopyHost(string dll, string target)
    {
        string source = Path.GetDirectoryName(dll)!;
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to, overwrite: true);
        }
        return Path.Combine(target, Path.GetFileName(dll));
    }

    public void Start()
    {
        var psi = new ProcessStartInfo("dotnet") { ArgumentList = { _dll }, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["AzureWebJobsStorage"] = _connectionString;
        psi.Environment["MLOPS_HTTP_PORT"] = Port.ToString();
        psi.Environment["MLOPS_FUNCTION_KEY"] = FunctionKey;
        psi.Environment["MLOPS_MASTER_KEY"] = MasterKey;
        psi.Environment["MLOPS_BLOB_SCAN_SECONDS"] = "0.5";
        psi.Environment["MLOPS_EMBEDDED_STORAGE"] = "false";
        psi.Environment["MLOPS_HOST_ID"] = "chaos"; // one app: all processes share receipts and keys
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>SIGKILL: no shutdown code runs, in-flight work and leases are simply abandoned.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async Task<bool> IsHealthyAsync()
    {
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(2) };
            return (await http.GetAsync("/api/health")).StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
