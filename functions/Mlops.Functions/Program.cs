using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Mlops.Functions.Hosting;

// The isolated worker, and nothing else: a Functions host starts it (Azure's, Core Tools' `func start`, or ours,
// functions/Mlops.Host) and owns HTTP routing, keys, triggers and the Durable engine.
if (!WorkerHost.IsStartedByHost(args))
{
    Console.Error.WriteLine(WorkerHost.NotUnderHostMessage);
    return 2;
}

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<ErrorMiddleware>(); // typed errors → 4xx with {"error":{code,message,details}}

// The worker's Kestrel accepts what the host in front accepts (else a 30-100 MB body fails inside the hop as a 500).
builder.Services.Configure<KestrelServerOptions>(kestrel =>
    WorkerRequestLimits.Apply(kestrel.Limits, builder.Configuration)
);
builder.Services.AddMlops(builder.Configuration);
builder.Build().Run();
return 0;
