using Microsoft.Extensions.Configuration;
using Mlops.Functions.Hosting;

// The run command: `dotnet run --project functions/Mlops.Functions [-- --demo]`.
// Starts Azurite (unless AzureWebJobsStorage points elsewhere) and the function host on 127.0.0.1:7071.
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("""
        MlopsFunctions host: drop a CSV into incoming/{dataset}/ and get a served model.

        Usage: dotnet run --project functions/Mlops.Functions [-- --demo]
          --demo   after start-up, drop the bundled breast-cancer dataset and follow its run

        Settings (environment): AzureWebJobsStorage (default UseDevelopmentStorage=true: Azurite is started for you),
          MLOPS_HTTP_PORT (7071), MLOPS_FUNCTION_KEY (else generated once and stored), RETRAIN_SCHEDULE (6-field NCRONTAB),
          MLOPS_BLOB_SCAN_SECONDS (2), MLOPS_HOST_ID (mlops-local).
        """);
    return 0;
}

HostSettings settings;
try { settings = HostSettings.FromConfiguration(new ConfigurationBuilder().AddEnvironmentVariables().Build()); }
catch (InvalidOperationException e) { Console.Error.WriteLine("error: " + e.Message); return 2; }
// Started by the Azure Functions host (it sets FUNCTIONS_WORKER_RUNTIME): be its isolated worker. Otherwise: the local runner.
if (settings.RunsUnderFunctionsHost) { AzureFunctionsApp.Run(args, settings); return 0; }
try { return await LocalHost.RunAsync(settings, args, demo: args.Contains("--demo")); }
catch (Mlops.Core.Errors.MlopsException e) { Console.Error.WriteLine("error: " + e.Message); return 2; } // e.g. a malformed AzureWebJobsStorage
