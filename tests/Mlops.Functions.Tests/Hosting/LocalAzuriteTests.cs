using System.Diagnostics;
using Mlops.Functions.Hosting;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.Hosting;

/// <summary>
/// The run command's storage outlives a host crash, as storage does in Azure: the embedded Azurite runs in a session
/// of its own (a signal to the host's process group spares it), and the next start reuses it instead of failing on
/// its ports. Uses the emulator's standard ports, which nothing else in the suite takes.
/// </summary>
public sealed class LocalAzuriteTests
{
    [Fact]
    public async Task EmbeddedAzurite_HasItsOwnSession_AndIsReusedByTheNextStart()
    {
        if (LocalAzurite.Ports.Any(LocalAzurite.IsListening)) Assert.Fail("the emulator ports 10000-10002 are taken; stop the run command before the suite");
        await using (await AzuriteInstance.StartAsync()) { } // installs Azurite into the repository's node_modules if needed
        string root = Path.Combine(Path.GetTempPath(), "mlops-localazurite-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        Directory.CreateSymbolicLink(Path.Combine(root, "node_modules"), Path.Combine(AzuriteInstance.RepoRoot(), "node_modules"));
        using var first = new LocalAzurite();
        try
        {
            await first.StartAsync(root, TextWriter.Null);
            int pid = int.Parse(File.ReadAllText(Path.Combine(root, ".azurite", "azurite.pid")));
            Assert.NotEqual(SessionOf(Environment.ProcessId), SessionOf(pid)); // not in our session: our process group's death spares it
            Assert.Equal(pid, LocalAzurite.RunningFromEarlierRun(root));

            var log = new StringWriter();
            using var second = new LocalAzurite(); // as a restarted host would
            await second.StartAsync(root, log);
            Assert.Contains("Reusing the Azurite left running", log.ToString());
            second.Dispose(); // a clean stop stops the adopted emulator
            Assert.True(await ExitsAsync(pid), "the reused Azurite should stop with the host that adopted it");
        }
        finally
        {
            first.Dispose();
            Directory.Delete(root, recursive: true);
        }
    }

    private static string SessionOf(int pid) => File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ')[3]; // field 6: session id

    private static async Task<bool> ExitsAsync(int pid)
    {
        for (int i = 0; i < 100; i++)
        {
            try { using var p = Process.GetProcessById(pid); if (p.HasExited) return true; }
            catch (ArgumentException) { return true; }
            await Task.Delay(100);
        }
        return false;
    }
}
