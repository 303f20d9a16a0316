using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.Options;

namespace Mlops.Host.Durable;

/// <summary>
/// The loopback gRPC endpoint the worker's <c>DurableTaskClient</c> talks to (the extension's LocalGrpcListener):
/// its own small Kestrel on 127.0.0.1, HTTP/2 without TLS (the worker's client is an insecure gRPC channel), on a port
/// the OS picks, with no message size limit on our side (the extension's server allows int.MaxValue too).
/// </summary>
public sealed class DurableClientEndpoint(DurableTaskHub hub, ILoggerFactory loggerFactory)
    : IHostedService,
        IAsyncDisposable
{
    private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;

    /// <summary>The endpoint's base address (<c>http://127.0.0.1:port/</c>) once it listens.</summary>
    public Task<Uri> Address => _address.Task;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        // The host's logging (and its filters) rather than a second set of console providers.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2)
        );
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = null;
            grpc.MaxSendMessageSize = null;
            grpc.EnableDetailedErrors = true; // the worker's client shows the server's exception message
        });
        builder.Services.AddSingleton(hub);
        builder.Services.AddSingleton(
            Options.Create(new TaskHubGrpcServerOptions { Mode = TaskHubGrpcServerMode.ApiServerOnly })
        );
        // One instance for all calls: the sidecar's constructor hooks application events, so it must not be per call.
        builder.Services.AddSingleton<DurableClientService>();
        var app = builder.Build();
        app.MapGrpcService<DurableClientService>();
        await app.StartAsync(cancellationToken);
        _app = app;
        string bound = app.Urls.First();
        _address.TrySetResult(new Uri(bound.EndsWith('/') ? bound : bound + "/"));
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
            await _app.StopAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }
}
