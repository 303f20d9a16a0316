namespace Mlops.Host;

/// <summary>How to start a <see cref="LocalFunctionsHost"/>: the app, the storage account, the port and the
/// keys.</summary>
public sealed class LocalHostOptions
{
    /// <summary>The worker's build output (functions.metadata, worker.config.json, host.json). Default:
    /// Mlops.Functions' output.</summary>
    public string? AppDirectory { get; set; }

    /// <summary>AzureWebJobsStorage for the host (keys) and the worker. Required.</summary>
    public string StorageConnectionString { get; set; } = "";

    /// <summary>The HTTP front's loopback port; 0 picks a free one (tests, benchmarks, side-by-side hosts).</summary>
    public int HttpPort { get; set; } = 7071;

    /// <summary>Overrides the stored default host function key (MLOPS_FUNCTION_KEY).</summary>
    public string? FunctionKey { get; set; }

    /// <summary>Overrides the stored master key (MLOPS_MASTER_KEY).</summary>
    public string? MasterKey { get; set; }

    /// <summary>The host id: the key store folder in azure-webjobs-secrets (MLOPS_HOST_ID).</summary>
    public string HostId { get; set; } = "mlops-local";

    /// <summary>Extra settings for the worker process (app settings), on top of the host's own environment.</summary>
    public IDictionary<string, string?> WorkerEnvironment { get; } =
        new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>Where the host's console lines go (worker output, RpcLogs, restarts). Default: standard
    /// output.</summary>
    public Action<string>? Log { get; set; }

    /// <summary>How long to wait for the worker's handshake before start-up fails.</summary>
    public TimeSpan WorkerStartTimeout { get; set; } = TimeSpan.FromSeconds(90);
}
