using System.Diagnostics;
using Mlops.Host.Hosting;

namespace Mlops.Host.Worker;

/// <summary>
/// One run of the worker process, started the way the Functions host starts a language worker
/// (azure-functions-host v4.1037, RpcWorkerContext.GetFormattedArguments and DefaultWorkerProcessFactory): the
/// executable from worker.config.json, the worker path, then the host's gRPC address and ids in both the old
/// (<c>--host/--port/--workerId/--requestId/--grpcMaxMessageLength</c>) and new (<c>--functions-*</c>) forms.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    /// <summary>The largest gRPC message the host accepts and announces (the host passes int.MaxValue).</summary>
    public const int MaxMessageLength = int.MaxValue;

    private readonly Process _process;

    private WorkerProcess(Process process, string workerId)
    {
        _process = process;
        WorkerId = workerId;
        Exited = process.WaitForExitAsync();
    }

    /// <summary>The worker id this run was started with (StartStream carries it back).</summary>
    public string WorkerId { get; }

    /// <summary>The operating system's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Completes when the process has exited.</summary>
    public Task Exited { get; }

    /// <summary>The exit code once <see cref="Exited"/> completed.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the worker; its stdout and stderr lines go to <paramref name="log"/>, prefixed
    /// "worker".</summary>
    public static WorkerProcess Start(
        WorkerAppConfig config,
        Uri grpcUri,
        IReadOnlyDictionary<string, string?> environment,
        HostLog log
    )
    {
        string workerId = Guid.NewGuid().ToString(),
            requestId = Guid.NewGuid().ToString();
        var psi = new ProcessStartInfo(config.ExecutablePath)
        {
            WorkingDirectory = config.AppDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        foreach (string a in config.Arguments)
            psi.ArgumentList.Add(a);
        if (config.WorkerPath is not null)
            psi.ArgumentList.Add(config.WorkerPath);
        string max = MaxMessageLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (
            string a in new[]
            {
                "--host",
                grpcUri.Host,
                "--port",
                grpcUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--workerId",
                workerId,
                "--requestId",
                requestId,
                "--grpcMaxMessageLength",
                max,
                "--functions-uri",
                grpcUri.AbsoluteUri,
                "--functions-worker-id",
                workerId,
                "--functions-request-id",
                requestId,
                "--functions-grpc-max-message-length",
                max,
            }
        )
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
        {
            if (value is null)
                psi.Environment.Remove(name);
            else
                psi.Environment[name] = value;
        }
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                log.Line("worker", e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                log.Line("worker:stderr", e.Data);
        };
        if (!process.Start())
            throw new InvalidOperationException($"Could not start the worker {config.ExecutablePath}.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process, workerId);
    }

    /// <summary>Kills the process (and its children) at once: SIGKILL, as a crash would.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { } // already gone
    }

    /// <summary>Waits up to <paramref name="grace"/> for the process to leave on its own, then kills it.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        using var cts = new CancellationTokenSource(grace);
        try
        {
            await Exited.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            await Exited;
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
