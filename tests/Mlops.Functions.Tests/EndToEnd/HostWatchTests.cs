using System.Diagnostics;
using Mlops.Functions.Hosting;
using Xunit;

namespace Mlops.Functions.Tests.EndToEnd;

/// <summary>
/// A worker does not outlive the host that started it. Before <see cref="HostWatch"/>, SIGKILL of the host process
/// alone left its worker running (still alive five minutes later): the Functions worker does not exit when its gRPC
/// stream breaks.
/// </summary>
public sealed class HostWatchTests
{
    [Fact]
    public async Task HostKilledAlone_ItsWorkerStopsWithinSeconds()
    {
        await using var host = await FunctionHostFixture.StartAsync("host-watch");
        int hostPid = host.Host.ProcessId!.Value;
        int worker = Assert.Single(ChildrenOf(hostPid), pid => CommandLine(pid).Contains("Mlops.Functions.dll"));

        Process.GetProcessById(hostPid).Kill(entireProcessTree: false); // the host only: its worker is orphaned
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (IsRunning(worker) && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.False(IsRunning(worker), $"worker {worker} still runs 30 s after its host was killed");
    }

    private static IEnumerable<int> ChildrenOf(int parent) =>
        Directory
            .EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out int pid) ? pid : 0)
            .Where(pid => pid > 0 && HostWatch.ParentOf(pid) == parent);

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static bool IsRunning(int pid)
    {
        // A zombie (exited, not yet reaped by its new parent) has stopped running.
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
