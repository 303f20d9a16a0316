using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Mlops.Host.Triggers;

/// <summary>Blob (Event Grid source) and timer triggers fired into the worker.</summary>
public static class TriggerServices
{
    /// <summary>
    /// Registers the blob and timer trigger listeners. Both wait for the worker to be ready, then start every
    /// <c>blobTrigger</c> and <c>timerTrigger</c> function it indexed. <paramref name="configure"/> adjusts the
    /// <see cref="TriggerOptions"/> after host.json's <c>extensions.blobs</c> has been applied (tests shorten the
    /// intervals).
    /// </summary>
    public static IServiceCollection AddFunctionTriggers(
        this IServiceCollection services,
        HostContext context,
        Action<TriggerOptions>? configure = null
    )
    {
        var options = new TriggerOptions();
        options.ApplyHostJson(context.HostJson);
        configure?.Invoke(options);
        services.TryAddSingleton(options);
        services.AddSingleton<BlobTriggerListener>();
        services.AddSingleton<TimerTriggerListener>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<BlobTriggerListener>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<TimerTriggerListener>());
        return services;
    }

    /// <summary>
    /// The settings the triggers resolve against: <see cref="TriggerOptions.Settings"/> when set, else the host's
    /// environment;
    /// <c>AzureWebJobsStorage</c> always falls back to the host context's connection (the one the worker is given).
    /// </summary>
    public static AppSettings CreateSettings(TriggerOptions options, HostContext context)
    {
        var lookup = options.Settings ?? Environment.GetEnvironmentVariable;
        return new AppSettings(name =>
            lookup(name) ?? (name == "AzureWebJobsStorage" ? context.StorageConnectionString : null)
        );
    }

    /// <summary>
    /// A fresh W3C trace context for a triggered invocation. The real host always sends one (ToRpcInvocationRequest),
    /// and the worker reads it unconditionally: without it every invocation fails with a NullReferenceException in the
    /// worker.
    /// </summary>
    public static Protocol.RpcTraceContext NewTraceContext() =>
        new()
        {
            TraceParent =
                $"00-{System.Diagnostics.ActivityTraceId.CreateRandom()}-{System.Diagnostics.ActivitySpanId.CreateRandom()}-00",
        };
}
