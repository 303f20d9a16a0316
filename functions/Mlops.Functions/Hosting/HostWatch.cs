using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mlops.Functions.Hosting;

/// <summary>
/// Stops the worker when the Functions host that started it is gone. A host that exits cleanly terminates its worker,
/// but one that is killed (SIGKILL, out of memory) cannot, and the Functions worker does not exit when its gRPC stream
/// breaks: such a worker lived on indefinitely, holding its memory and its port. On Linux a process whose parent dies
/// is re-parented, so a changed parent process id means the host is gone. Elsewhere (no /proc) nothing is watched.
/// </summary>
public sealed partial class HostWatch(IHostApplicationLifetime lifetime, ILogger<HostWatch> logger) : BackgroundService
{
    /// <summary>How often the parent is checked: a killed host's worker is gone within this.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (ParentProcessId() is not { } host)
            return;
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            if (ParentProcessId() == host)
                continue;
            LogHostGone(logger, host);
            lifetime.StopApplication();
            return;
        }
    }

    /// <summary>This process's parent, or null where there is no /proc.</summary>
    public static int? ParentProcessId() => ParentOf(Environment.ProcessId);

    /// <summary>A process's parent (the fourth field of /proc/{pid}/stat), or null when it cannot be read.</summary>
    public static int? ParentOf(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.TryParse(fields[1], out int ppid) ? ppid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "The Functions host that started this worker (pid {Host}) is gone; stopping the worker."
    )]
    private static partial void LogHostGone(ILogger logger, int host);
}
