using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

// The worker's Kestrel logs four Information lines per request ("Request starting", "Executing endpoint", ...); each
// is an RpcLog message to the host, and host.json's levels filter only what the host prints, after the message has
// been sent. Dropping them here took the predict hop from 8 to 4 gRPC messages per request.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddMlops(builder.Configuration);
builder.Services.AddHostedService<HostWatch>(); // a killed host's worker stops instead of living on
builder.Build().Run();
return 0;
