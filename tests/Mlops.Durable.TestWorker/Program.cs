using Microsoft.WindowsAzure.Storage;
using Mlops.Durable;
using Mlops.Durable.TestWorker;

// Usage: dotnet Mlops.Durable.TestWorker.dll <connection-string> <hub> <lease-ms> <visibility-ms> [max-activities]
// Prints READY once started; runs until killed or stdin closes.
string connection = args[0], hub = args[1];
var options = new DurableWorkerOptions
{
    ConnectionString = connection,
    TaskHubName = hub,
    LeaseDuration = TimeSpan.FromMilliseconds(int.Parse(args[2])),
    VisibilityTimeout = TimeSpan.FromMilliseconds(int.Parse(args[3])),
    MaxConcurrentActivities = args.Length > 4 ? int.Parse(args[4]) : 20,
    MaxPollingInterval = TimeSpan.FromMilliseconds(500),
    WorkerId = $"tw-{Environment.ProcessId}",
};
var effects = CloudStorageAccount.Parse(connection).CreateCloudTableClient().GetTableReference(hub + "Effects");
await effects.CreateIfNotExistsAsync();
var registry = TestFunctions.Register(new DurableRegistry(), effects, options.WorkerId);
var worker = new DurableWorker(options, registry);
await worker.StartAsync();
Console.WriteLine("READY " + worker.WorkerId);
await Console.In.ReadToEndAsync();
await worker.StopAsync();
