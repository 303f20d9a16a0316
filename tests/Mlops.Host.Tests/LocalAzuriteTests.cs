using System.Diagnostics;
using Mlops.Host.Hosting;
using Xunit;

namespace Mlops.Host.Tests;

/// <summary>
/// Who may stop the run command's Azurite. Before the owner file, a second host started beside a running one (or
/// refused for a busy port) reused that host's Azurite and killed it when it stopped, leaving the first host on dead
/// storage.
/// </summary>
public class LocalAzuriteTests
{
    [Fact]
    public async Task LiveOwner_IsAnotherRunningHost_NotADeadOneNorThisProcess()
    {
        string root = Directory.CreateTempSubdirectory().FullName;
        Directory.CreateDirectory(Path.Combine(root, ".azurite"));
        string owner = Path.Combine(root, ".azurite", "azurite.owner");
        Assert.Null(LocalAzurite.LiveOwner(root)); // no owner file: nobody

        using var other = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        File.WriteAllText(owner, other.Id.ToString());
        Assert.Equal(other.Id, LocalAzurite.LiveOwner(root)); // a running host owns it: share, never stop

        other.Kill();
        await other.WaitForExitAsync();
        Assert.Null(LocalAzurite.LiveOwner(root)); // its owner crashed: the next host takes it over

        File.WriteAllText(owner, Environment.ProcessId.ToString());
        Assert.Null(LocalAzurite.LiveOwner(root)); // this process is not "another" host
    }
}
