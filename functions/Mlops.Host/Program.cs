using System.Runtime.InteropServices;
using Mlops.Host;
using Mlops.Host.Hosting;

// The local Functions host: `dotnet run --project functions/Mlops.Host [-- --demo] [-- --app DIR]`.
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(
        """
        Mlops local Functions host: runs the isolated-worker app as the Azure Functions host does (gRPC protocol,
        host routing and keys, Durable dispatch, blob and timer triggers).

        Usage: dotnet run --project functions/Mlops.Host [-- [--demo] [--app DIR]]
          --app DIR  the worker's build output (default: functions/Mlops.Functions' build output)
          --demo     after start-up, drop the bundled breast-cancer dataset and follow its run

        Settings (environment): AzureWebJobsStorage (unset or UseDevelopmentStorage=true: Azurite is started for you,
          data in .azurite/), MLOPS_HTTP_PORT (7071), MLOPS_FUNCTION_KEY / MLOPS_MASTER_KEY (else generated once and
          stored in azure-webjobs-secrets/{host id}/host.json), MLOPS_HOST_ID (mlops-local). Every other environment
          variable passes to the worker as an app setting.
        """
    );
    return 0;
}

string? appDirectory = null;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--app" && i + 1 < args.Length)
        appDirectory = args[++i];
    else if (args[i] is not "--demo")
    {
        Console.Error.WriteLine($"error: unknown argument '{args[i]}' (see --help)");
        return 2;
    }
}

string? storage = Environment.GetEnvironmentVariable("AzureWebJobsStorage");
bool startAzurite =
    string.IsNullOrWhiteSpace(storage)
    || storage.Trim().Equals("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);
bool emulator = startAzurite || Banner.IsEmulator(storage!);
int port = 7071;
if (
    Environment.GetEnvironmentVariable("MLOPS_HTTP_PORT") is { Length: > 0 } portText
    && (!int.TryParse(portText, out port) || port is < 1 or > 65535)
)
{
    Console.Error.WriteLine($"error: MLOPS_HTTP_PORT='{portText}' is not a port number (1-65535).");
    return 2;
}

using var stopping = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stopping.Cancel();
});
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
{
    c.Cancel = true;
    stopping.Cancel();
});
using var azurite = new LocalAzurite();
try
{
    if (startAzurite)
    {
        string root = LocalAzurite.FindRepoRoot()
            ?? throw new InvalidOperationException(
                "Run from the repository (MlopsFunctions.sln not found), or set AzureWebJobsStorage to a storage account."
            );
        // The HTTP port first: a host that cannot serve must not start, reuse or stop anyone's Azurite.
        LocalFunctionsHost.EnsureHttpPortFree(port);
        if (LocalAzurite.RunningFromEarlierRun(root) is null)
            LocalAzurite.EnsurePortsFree(LocalAzurite.Ports.Select(p => (p, "Azurite storage emulator")));
        await azurite.StartAsync(root, Console.Out, stopping.Token);
        storage = "UseDevelopmentStorage=true";
    }
    var options = new LocalHostOptions
    {
        AppDirectory = appDirectory,
        StorageConnectionString = storage!,
        HttpPort = port,
        FunctionKey = Environment.GetEnvironmentVariable("MLOPS_FUNCTION_KEY"),
        MasterKey = Environment.GetEnvironmentVariable("MLOPS_MASTER_KEY"),
        HostId = Environment.GetEnvironmentVariable("MLOPS_HOST_ID") is { Length: > 0 } id ? id : "mlops-local",
    };
    await using var host = await LocalFunctionsHost.StartAsync(options, stopping.Token);
    Console.WriteLine(Banner.Text(host, emulator));
    if (args.Contains("--demo"))
        _ = Task.Run(() => Demo.RunAsync(host, Console.Out, printKey: emulator, stopping.Token));
    try
    {
        await Task.Delay(Timeout.Infinite, stopping.Token);
    }
    catch (OperationCanceledException) { }
    Console.WriteLine("[host] stopping...");
    return 0;
}
catch (PortInUseException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 2;
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
    return 0;
}
catch (Exception e)
    when (e
            is InvalidOperationException
                or TimeoutException
                or IOException
                or Azure.RequestFailedException
                or FormatException
    )
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}
