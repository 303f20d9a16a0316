using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mlops.Durable.Local;
using Mlops.Durable.Local.TestWorker;

// Usage: Mlops.Durable.Local.TestWorker <connection string> <task hub>. Runs until killed.
var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
builder.Services.AddLocalDurableTask(
    TaskHubStorage.FromConnectionString(args[0]),
    new LocalDurableOptions { TaskHubName = args[1] },
    registry => registry.AddTestTasks(args[0])
);
using var host = builder.Build();
await host.StartAsync();
Console.WriteLine("ready");
await host.WaitForShutdownAsync();
