using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Mlops.Core.Storage;
using Microsoft.DurableTask.Client;
using Mlops.Functions.Security;
using Mlops.Pipelines.Configuration;

namespace Mlops.Functions.Hosting;

/// <summary>The run command's lifecycle: port checks, embedded Azurite, the host, the optional demo, clean Ctrl-C.</summary>
public static class LocalHost
{
    public const string DemoDataset = "breast-cancer";

    public static async Task<int> RunAsync(HostSettings settings, string[] args, bool demo)
    {
        var ports = new List<(int, string)> { (settings.HttpPort, "function host HTTP; set MLOPS_HTTP_PORT to use another") };
        string? repoRoot = LocalAzurite.FindRepoRoot();
        bool reuseAzurite = repoRoot is not null && LocalAzurite.RunningFromEarlierRun(repoRoot) is not null;
        if (settings.EmbeddedStorage && !reuseAzurite) ports.AddRange(LocalAzurite.Ports.Select(p => (p, "Azurite storage emulator")));
        try { LocalAzurite.EnsurePortsFree(ports); }
        catch (PortInUseException e) { Console.Error.WriteLine("error: " + e.Message); return 3; }

        using var azurite = new LocalAzurite();
        using var stopping = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };
        // docker stop, systemd and the Functions platform send SIGTERM: stop as cleanly as on Ctrl-C.
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        try
        {
            if (settings.EmbeddedStorage)
            {
                string root = LocalAzurite.FindRepoRoot() ?? throw new InvalidOperationException("Run from the repository (MlopsFunctions.sln not found), or set AzureWebJobsStorage to a storage account.");
                await azurite.StartAsync(root, Console.Out, stopping.Token);
            }
            var app = await FunctionApp.BuildAsync(settings, args, cancellationToken: stopping.Token);
            await app.StartAsync(stopping.Token);
            var keys = app.Services.GetRequiredService<FunctionKeys>();
            string baseUrl = $"http://127.0.0.1:{settings.HttpPort}";
            Console.WriteLine($"""

                MlopsFunctions host is running on {baseUrl}  (Ctrl-C stops it{(settings.EmbeddedStorage ? " and Azurite" : "")})
                  {KeyLines(settings, keys)}
                  Dashboard:   {DashboardLink(settings, keys, baseUrl)}
                  Drop zone:   blob container 'incoming', {PipelineConfigLoader.IncomingContainer}/<dataset>/<file>.csv + {PipelineConfigLoader.IncomingContainer}/<dataset>/mlops.json
                  Storage:     {(settings.EmbeddedStorage ? "Azurite, UseDevelopmentStorage=true" : "AzureWebJobsStorage")}
                  Try:         curl {baseUrl}/api/health
                               curl -H "x-functions-key: {keys.Key}" {baseUrl}/api/models
                """);
            if (demo) _ = Task.Run(() => RunDemoAsync(app, baseUrl, keys.Key, stopping.Token));
            try { await Task.Delay(Timeout.Infinite, stopping.Token); } catch (OperationCanceledException) { }
            Console.WriteLine("Stopping...");
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(stopTimeout.Token);
            await app.DisposeAsync();
            return 0;
        }
        catch (OperationCanceledException) { return 0; }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    /// <summary>
    /// Keys are printed only for the local emulator: on a real storage account stdout ends up in platform logs, so the
    /// banner says where the keys are instead.
    /// </summary>
    private static string KeyLines(HostSettings settings, FunctionKeys keys) => settings.EmbeddedStorage
        ? $"Function key (predict, reads): {keys.Key}\n  Master key (admin routes):     {keys.MasterKey}"
        : $"Keys: MLOPS_FUNCTION_KEY / MLOPS_MASTER_KEY, or {FunctionKeys.SecretsContainer}/{settings.HostId}/host.json in the storage account";

    /// <summary>The dashboard's address; with the emulator it carries the function key, which the page then keeps in the tab.</summary>
    private static string DashboardLink(HostSettings settings, FunctionKeys keys, string baseUrl) => settings.EmbeddedStorage
        ? $"{baseUrl}/?code={Uri.EscapeDataString(keys.Key)}  (the master key signs in for promote/rollback/approve)"
        : $"{baseUrl}/  (sign in with the function key)";

    /// <summary>Drops the bundled dataset with a plain storage write, as a user would, and follows the run it starts.</summary>
    private static async Task RunDemoAsync(WebApplication app, string baseUrl, string key, CancellationToken ct)
    {
        try
        {
            var storage = app.Services.GetRequiredService<StorageServices>();
            string dir = Path.Combine(AppContext.BaseDirectory, "Demo");
            await storage.Blobs.WriteAsync("incoming", $"{DemoDataset}/{PipelineConfigLoader.ConfigFileName}", await File.ReadAllBytesAsync(Path.Combine(dir, "mlops.json"), ct), cancellationToken: ct);
            byte[] csv = await File.ReadAllBytesAsync(Path.Combine(dir, "breast-cancer.csv"), ct);
            await storage.Blobs.WriteAsync("incoming", $"{DemoDataset}/breast-cancer.csv", csv, cancellationToken: ct);
            Console.WriteLine($"demo: dropped incoming/{DemoDataset}/breast-cancer.csv ({csv.Length:N0} bytes) and mlops.json; waiting for the training run...");
            var client = app.Services.GetRequiredService<DurableTaskClient>();
            for (int i = 0; i < 240 && !ct.IsCancellationRequested; i++)
            {
                await Task.Delay(1000, ct);
                OrchestrationMetadata? run = null;
                await foreach (var r in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = $"train-{DemoDataset}-", FetchInputsAndOutputs = true }).WithCancellation(ct)) { run = r; break; }
                if (run is null || run.RuntimeStatus is OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Running) continue;
                Console.WriteLine($"demo: run {run.InstanceId} {run.RuntimeStatus}: {run.SerializedOutput ?? run.FailureDetails?.ErrorMessage}");
                string firstRow = FirstRowJson(Encoding.UTF8.GetString(csv), "target");
                Console.WriteLine("demo: try a prediction:");
                Console.WriteLine($"  curl -s -X POST -H \"x-functions-key: {key}\" -H \"content-type: application/json\" {baseUrl}/api/models/{DemoDataset}/predict -d '{{\"rows\":[{firstRow}]}}'");
                Console.WriteLine($"  curl -s -H \"x-functions-key: {key}\" {baseUrl}/api/models/{DemoDataset}");
                return;
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) { Console.Error.WriteLine("demo failed: " + e.Message); }
    }

    /// <summary>The first data row as a JSON object without the label, for the printed example request.</summary>
    public static string FirstRowJson(string csv, string target)
    {
        var lines = csv.Split('\n', 3);
        var header = lines[0].TrimEnd('\r').Split(',');
        var values = lines[1].TrimEnd('\r').Split(',');
        var row = new Dictionary<string, object>();
        for (int i = 0; i < header.Length && i < values.Length; i++)
            if (header[i] != target) row[header[i]] = double.TryParse(values[i], System.Globalization.CultureInfo.InvariantCulture, out double d) ? d : values[i];
        return JsonSerializer.Serialize(row);
    }
}
