using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Mlops.Functions.Functions;
using Mlops.Functions.Triggers;
using Mlops.Pipelines.Launching;
using Mlops.Testing;
using Xunit;

namespace Mlops.Functions.Tests.Security;

public sealed class HostHardeningTests
{
    private sealed class RecordingLauncher : IPipelineLauncher
    {
        public List<string> Datasets { get; } = [];
        public Task<string> StartTrainingAsync(string dataset, PipelineTrigger trigger, string instanceId, CancellationToken cancellationToken = default)
        {
            Datasets.Add(dataset);
            return Task.FromResult(instanceId);
        }
    }

    [Theory]
    [InlineData("bc/%2e%2e/dm/evil.csv")]
    [InlineData("bc/../dm/evil.csv")]
    [InlineData("bc/./evil.csv")]
    [InlineData("bc//evil.csv")]
    public async Task DataDropped_NameWithDotSegments_IsRefusedWithAReason_NotMovedToAnotherDataset(string name)
    {
        var launcher = new RecordingLauncher();
        var function = new DataDropped(NullLogger<DataDropped>.Instance);
        var e = await Assert.ThrowsAsync<UnsupportedBlobException>(() => function.RunAsync(new BlobTriggerEvent("incoming", name, "\"0x1\"", 10, 1), launcher));
        Assert.Contains("'..'", e.Message);
        Assert.Empty(launcher.Datasets);
    }

    [Fact]
    public async Task HostProcess_MalformedStorageSetting_ExitsWithOneLineNamingIt_NoStackTrace()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Mlops.Functions.dll");
        var psi = new ProcessStartInfo("dotnet") { ArgumentList = { dll }, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["AzureWebJobsStorage"] = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=not base64!!";
        psi.Environment["MLOPS_HTTP_PORT"] = AzuriteInstance.FreePort().ToString();
        using var process = Process.Start(psi)!;
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("AzureWebJobsStorage", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("not base64", stderr); // the secret is never echoed
    }

    [Fact]
    public async Task HostProcess_Sigterm_StopsCleanly()
    {
        await using var azurite = await AzuriteInstance.StartAsync();
        int port = AzuriteInstance.FreePort();
        string dll = Path.Combine(AppContext.BaseDirectory, "Mlops.Functions.dll");
        var psi = new ProcessStartInfo("dotnet") { ArgumentList = { dll }, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        psi.Environment["MLOPS_HTTP_PORT"] = port.ToString();
        using var process = Process.Start(psi)!;
        var stdout = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (stdout) stdout.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try { if ((await http.GetAsync("/api/health")).StatusCode == HttpStatusCode.OK) break; }
                catch (HttpRequestException) { }
                Assert.True(DateTime.UtcNow < deadline, "the host did not come up");
                await Task.Delay(200);
            }
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(cts.Token);
            Assert.Equal(0, process.ExitCode);
            // On a real storage account stdout goes to platform logs: the banner says where the keys are, not what they are.
            string banner; lock (stdout) banner = stdout.ToString();
            Assert.Contains("Keys: MLOPS_FUNCTION_KEY / MLOPS_MASTER_KEY", banner);
            Assert.DoesNotContain("Function key (predict", banner);
            Assert.Contains($"Dashboard:   http://127.0.0.1:{port}/  (sign in with the function key)", banner);
            Assert.DoesNotContain("?code=", banner); // the dashboard link carries the key only for the emulator
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
