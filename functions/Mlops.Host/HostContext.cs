using System.Text.Json;

namespace Mlops.Host;

/// <summary>What every part of the host needs to know about this host instance and the app it runs.</summary>
/// <param name="AppDirectory">The worker's output folder (functions.metadata, worker.config.json, host.json).</param>
/// <param name="StorageConnectionString">AzureWebJobsStorage (the emulator's when Azurite was started for us).</param>
/// <param name="HostId">The host id: names the key store folder and the lease owners' prefix.</param>
/// <param name="HostJson">The app's host.json (routePrefix, extensions.durableTask, functionTimeout).</param>
public sealed record HostContext(
    string AppDirectory,
    string StorageConnectionString,
    string HostId,
    JsonElement HostJson
);
