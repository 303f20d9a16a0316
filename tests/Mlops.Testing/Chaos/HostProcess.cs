using System.Diagnostics;
using System.Net;

namespace Mlops.Testing.Chaos;

/// <summary>
/// The local Functions host as its own OS process (the built Mlops.Host.dll, which starts the built Mlops.Functions
/// worker as its child), so a test can SIGKILL it. Settings go in as environment variables, as a user sets them:
/// AzureWebJobsStorage, MLOPS_HTTP_PORT, MLOPS_FUNCTION_KEY / MLOPS_MASTER_KEY, MLOPS_HOST_ID (every other variable
/// reaches the worker as an app setting); the worker's build output is the host's <c>--app</c> argument.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    public const string FunctionKey = "chaos-function-key";
    public const string MasterKey = "chaos-master-key";

    private readonly string _dll,
        _connectionString;
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

    /// <summary>The host process's id while it runs (benchmarks read its workers' memory under /proc).</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>The built local host in the repository (the newest of any configuration).</summary>
    public static string FindHostDll() => FindBuilt("Mlops.Host");

    /// <summary>The built function app (the worker) in the repository (the newest of any configuration).</summary>
    public static string FindWorkerDll() => FindBuilt("Mlops.Functions");

    private static string FindBuilt(string project)
    {
        string root = AzuriteInstance.RepoRoot();
        var candidates = new[] { "Release", "Debug" }
            .Select(c => Path.Combine(root, "functions", project, "bin", c, "net10.0", project + ".dll"))
            .Where(File.Exists);
        return candidates.OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            ?? throw new FileNotFoundException($"Build functions/{project} first (dotnet build MlopsFunctions.sln).");
    }

    /// <summary>The host id: hosts with the same id are one app (shared keys, blob receipts, timer locks).</summary>
    public string HostId { get; init; } = "chaos";

    /// <summary>The worker's build output folder the host runs (default: the repository's newest build).</summary>
    public string? AppDirectory { get; init; }

    /// <summary>More environment for the host and its worker (e.g. test-only webhook settings).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The host's and worker's output, kept for failure messages.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; } = new();

    /// <summary>Copies the host's build output folder to <paramref name="target"/>; returns the copied dll's
    /// path.</summary>
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
        string app = AppDirectory ?? Path.GetDirectoryName(FindWorkerDll())!;
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { _dll, "--app", app },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["AzureWebJobsStorage"] = _connectionString;
        psi.Environment["MLOPS_HTTP_PORT"] = Port.ToString();
        psi.Environment["MLOPS_FUNCTION_KEY"] = FunctionKey;
        psi.Environment["MLOPS_MASTER_KEY"] = MasterKey;
        psi.Environment["MLOPS_BLOB_SCAN_SECONDS"] = "0.5";
        psi.Environment["MLOPS_EMBEDDED_STORAGE"] = "false";
        psi.Environment["MLOPS_HOST_ID"] = HostId; // one app: every process with this id shares keys, receipts and timers
        foreach (var (k, v) in Environment)
            psi.Environment[k] = v;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Keep(string? line)
    {
        if (line is null)
            return;
        Output.Enqueue(line);
        while (Output.Count > 500)
            Output.TryDequeue(out _);
    }

    /// <summary>Waits until the host answers <c>/api/health</c> (through the worker), or fails with its last
    /// output.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await IsHealthyAsync())
        {
            if (!IsRunning || DateTime.UtcNow > deadline)
                throw new TimeoutException(
                    $"The local host on port {Port} did not become healthy within {timeout} (running: {IsRunning}). "
                        + "Last output:\n"
                        + string.Join("\n", Output.TakeLast(40))
                );
            await Task.Delay(250);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, in-flight work and leases are simply abandoned.</summary>
    public async Task KillAsync()
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
    /// SIGKILLs the host's worker process alone (the host notices and starts a new one). The worker is the host's child
    /// whose command line carries the host's <c>--workerId</c> argument; Linux only (/proc/{pid}/task/*/children).
    /// </summary>
    public async Task KillWorkerAsync()
    {
        if (_process is not { HasExited: false } host)
            throw new InvalidOperationException($"{Name} is not running.");
        // A child is listed under the thread that started it, so every thread's list is read.
        var children = new List<string>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{host.Id}/task"))
        {
            try
            {
                string list = await File.ReadAllTextAsync(Path.Combine(task, "children"));
                children.AddRange(list.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
            catch (IOException) { } // the thread ended meanwhile
        }
        foreach (string pid in children)
        {
            string cmdline;
            try
            {
                cmdline = (await File.ReadAllTextAsync($"/proc/{pid}/cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            } // exited meanwhile
            if (!cmdline.Contains("--workerId", StringComparison.Ordinal))
                continue;
            using var worker = Process.GetProcessById(
                int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)
            );
            worker.Kill();
            await worker.WaitForExitAsync();
            return;
        }
        throw new InvalidOperationException($"{Name} (pid {host.Id}) has no worker process.");
    }

    public async Task<bool> IsHealthyAsync()
    {
        try
        {
            using var http = new HttpClient
            {
                BaseAddress = new Uri($"http://127.0.0.1:{Port}"),
                Timeout = TimeSpan.FromSeconds(2),
            };
            return (await http.GetAsync("/api/health")).StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
