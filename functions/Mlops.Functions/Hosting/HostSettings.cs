using Microsoft.Extensions.Configuration;

namespace Mlops.Functions.Hosting;

/// <summary>
/// Host settings, from environment variables (the names Azure Functions uses where one exists) or configuration.
/// Validated at start-up so a typo fails fast with a readable message.
/// </summary>
public sealed record HostSettings
{
    /// <summary><c>AzureWebJobsStorage</c>: the storage account; default the local emulator.</summary>
    public string StorageConnectionString { get; init; } = "UseDevelopmentStorage=true";
    /// <summary><c>MLOPS_HTTP_PORT</c>: local HTTP port (default 7071, as <c>func start</c>).</summary>
    public int HttpPort { get; init; } = 7071;
    /// <summary><c>MLOPS_FUNCTION_KEY</c>: the function key; generated once and stored when absent.</summary>
    public string? FunctionKey { get; init; }
    /// <summary><c>MLOPS_MASTER_KEY</c>: the admin (master) key for state-changing routes; generated once and stored when absent.</summary>
    public string? MasterKey { get; init; }
    /// <summary><c>RETRAIN_SCHEDULE</c>: 6-field NCRONTAB for retraining every configured dataset; none = off.</summary>
    public string? RetrainSchedule { get; init; }
    /// <summary><c>MLOPS_HOST_ID</c>: names receipts, keys and timer state, like the Functions host id.</summary>
    public string HostId { get; init; } = "mlops-local";
    /// <summary><c>MLOPS_BLOB_SCAN_SECONDS</c>: how often the drop zone is scanned (default 2 s).</summary>
    public double BlobScanSeconds { get; init; } = 2;
    /// <summary><c>MLOPS_MAX_BLOB_ATTEMPTS</c>: failures before a dropped blob is parked as poison (default 5).</summary>
    public int MaxBlobAttempts { get; init; } = 5;
    /// <summary>
    /// <c>FUNCTIONS_WORKER_RUNTIME</c>: set by the Azure Functions host for the isolated worker it starts. Then the host
    /// owns triggers, keys and the durable engine, and this process is the worker.
    /// </summary>
    public bool RunsUnderFunctionsHost { get; init; }
    /// <summary><c>MLOPS_EMBEDDED_STORAGE</c>: start Azurite in-process for the run command (default on when the connection string is the emulator).</summary>
    public bool EmbeddedStorage { get; init; }

    /// <summary>Durable task hub settings (host.json's <c>extensions.durableTask</c> in Azure); <c>MLOPS_TASK_HUB</c> names the hub.</summary>
    public Mlops.Durable.Local.LocalDurableOptions Durable { get; init; } = new();

    public static HostSettings FromConfiguration(IConfiguration c)
    {
        string? Get(string k) => string.IsNullOrWhiteSpace(c[k]) ? null : c[k];
        var s = new HostSettings
        {
            StorageConnectionString = Get("AzureWebJobsStorage") ?? "UseDevelopmentStorage=true",
            HttpPort = ParseInt(Get("MLOPS_HTTP_PORT"), 7071, "MLOPS_HTTP_PORT", 1, 65535),
            FunctionKey = Get("MLOPS_FUNCTION_KEY"),
            MasterKey = Get("MLOPS_MASTER_KEY"),
            RetrainSchedule = Get("RETRAIN_SCHEDULE"),
            HostId = Get("MLOPS_HOST_ID") ?? "mlops-local",
            BlobScanSeconds = Get("MLOPS_BLOB_SCAN_SECONDS") is { } b ? double.Parse(b, System.Globalization.CultureInfo.InvariantCulture) : 2,
            MaxBlobAttempts = ParseInt(Get("MLOPS_MAX_BLOB_ATTEMPTS"), 5, "MLOPS_MAX_BLOB_ATTEMPTS", 1, 100),
            Durable = new Mlops.Durable.Local.LocalDurableOptions { TaskHubName = Get("MLOPS_TASK_HUB") ?? "mlops" },
            RunsUnderFunctionsHost = Get("FUNCTIONS_WORKER_RUNTIME") is not null,
        };
        bool isEmulator = s.StorageConnectionString.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);
        s = s with { EmbeddedStorage = Get("MLOPS_EMBEDDED_STORAGE") is { } e ? e is "1" or "true" : isEmulator && !s.RunsUnderFunctionsHost };
        if (s.RetrainSchedule is { } r && !Pipelines.Scheduling.CronSchedule.TryParse(r, out _, out string? why))
            throw new InvalidOperationException($"RETRAIN_SCHEDULE '{r}' is not a 6-field NCRONTAB expression ({why}). Example: \"0 0 2 * * *\" (02:00 UTC daily).");
        if (s.BlobScanSeconds is <= 0 or > 600) throw new InvalidOperationException("MLOPS_BLOB_SCAN_SECONDS must be between 0 and 600.");
        return s;
    }

    private static int ParseInt(string? value, int fallback, string name, int min, int max)
    {
        if (value is null) return fallback;
        if (!int.TryParse(value, out int v) || v < min || v > max) throw new InvalidOperationException($"{name} must be a whole number from {min} to {max}; it is '{value}'.");
        return v;
    }
}
