using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Mlops.Storage.Azure;

namespace Mlops.Functions.Hosting;

/// <summary>
/// The app under the Azure Functions host (isolated worker, ASP.NET Core integration). The host owns the triggers
/// (Event Grid blob, timers, HTTP with key levels) and the Durable extension runs the orchestrators; this process
/// registers the same services as the local runner and the function classes hand over to the same code.
/// </summary>
public static class AzureFunctionsApp
{
    public static void Run(string[] args, HostSettings settings)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();
        var account = AzureStorageAccount.FromConfiguration(builder.Configuration);
        builder.Services.AddMlops(settings, account.Services);
        builder.Services.AddSingleton<HttpRoutes>();
        builder.Build().Run();
    }
}
