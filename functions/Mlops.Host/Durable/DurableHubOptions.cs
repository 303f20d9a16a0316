using System.Globalization;
using System.Text.Json;

namespace Mlops.Host.Durable;

/// <summary>
/// The task hub settings the Durable extension reads from host.json's <c>extensions.durableTask</c> section, with the
/// extension's defaults where host.json is silent (Microsoft.Azure.WebJobs.Extensions.DurableTask: DurableTaskOptions,
/// AzureStorageOptions). Lease timings are not host.json settings in the extension; ours are shorter than DTFx's
/// (30 s lease, 10 s acquire) so a killed host's partitions move to a live one within the 30 s target.
/// </summary>
public sealed record DurableHubOptions
{
    /// <summary>Environment variable that overrides <c>hubName</c> (tests give each run a hub of its own).</summary>
    public const string HubOverrideVariable = "MLOPS_TASK_HUB";

    /// <summary>Task hub name: prefix of the tables, queues and lease containers.</summary>
    public string HubName { get; init; } = "TestHubName";

    /// <summary>Control-queue partitions (1–16), fixed when the hub is created.</summary>
    public int PartitionCount { get; init; } = 4;

    /// <summary>Messages fetched per control-queue poll.</summary>
    public int ControlQueueBatchSize { get; init; } = 32;

    /// <summary>Control-queue messages buffered per partition (Functions' default is 256, DTFx's 64).</summary>
    public int ControlQueueBufferThreshold { get; init; } = 256;

    /// <summary>How long a dequeued control message stays hidden: when a dead host's orchestration work
    /// reappears.</summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a dequeued activity message stays hidden: when a dead host's activity work
    /// reappears.</summary>
    public TimeSpan WorkItemQueueVisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Upper bound of the idle queue polling back-off.</summary>
    public TimeSpan MaxQueuePollingInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Activity work items run at once by this host (extension default: 10 × cores).</summary>
    public int MaxConcurrentActivityFunctions { get; init; } = 10 * Environment.ProcessorCount;

    /// <summary>Orchestration episodes run at once by this host (extension default: 10 × cores).</summary>
    public int MaxConcurrentOrchestratorFunctions { get; init; } = 10 * Environment.ProcessorCount;

    /// <summary>DTFx extended sessions: keep an orchestration's history in memory between episodes.</summary>
    public bool ExtendedSessionsEnabled { get; init; }

    /// <summary>How long an idle extended session stays in memory.</summary>
    public TimeSpan ExtendedSessionIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Azure Tables partition manager (DTFx 2.x default) rather than blob leases.</summary>
    public bool UseTablePartitionManagement { get; init; } = true;

    /// <summary>Partition lease length: a dead host's partitions become free this long after its last
    /// renewal.</summary>
    public TimeSpan LeaseInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often a host renews its leases and looks for free or expired ones.</summary>
    public TimeSpan LeaseAcquireInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest message the worker's gRPC client accepts from the client endpoint (extension default 4
    /// MiB).</summary>
    public int MaxGrpcMessageSizeInBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Timeout of the worker client's HTTP calls to the client endpoint (extension default 100 s).</summary>
    public TimeSpan GrpcHttpClientTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Reads <c>extensions.durableTask</c> of a host.json document (absent sections give the defaults), then applies
    /// <see cref="HubOverrideVariable"/>. A value of the wrong type or out of range throws, naming the setting.
    /// </summary>
    public static DurableHubOptions FromHostJson(JsonElement hostJson, string? hubOverride = null)
    {
        var options = new DurableHubOptions();
        if (
            hostJson.ValueKind == JsonValueKind.Object
            && TryGetIgnoreCase(hostJson, "extensions", out var extensions)
            && extensions.ValueKind == JsonValueKind.Object
            && TryGetIgnoreCase(extensions, "durableTask", out var durable)
            && durable.ValueKind == JsonValueKind.Object
        )
        {
            var storage =
                TryGetIgnoreCase(durable, "storageProvider", out var s) && s.ValueKind == JsonValueKind.Object
                    ? s
                    : default;
            options = options with
            {
                HubName = String(durable, "hubName") ?? options.HubName,
                MaxConcurrentActivityFunctions = Int(durable, "maxConcurrentActivityFunctions")
                    ?? options.MaxConcurrentActivityFunctions,
                MaxConcurrentOrchestratorFunctions = Int(durable, "maxConcurrentOrchestratorFunctions")
                    ?? options.MaxConcurrentOrchestratorFunctions,
                ExtendedSessionsEnabled = Bool(durable, "extendedSessionsEnabled") ?? options.ExtendedSessionsEnabled,
                ExtendedSessionIdleTimeout = Int(durable, "extendedSessionIdleTimeoutInSeconds") is { } idle
                    ? TimeSpan.FromSeconds(idle)
                    : options.ExtendedSessionIdleTimeout,
                MaxGrpcMessageSizeInBytes = Int(durable, "maxGrpcMessageSizeInBytes")
                    ?? options.MaxGrpcMessageSizeInBytes,
                GrpcHttpClientTimeout = Duration(durable, "grpcHttpClientTimeout") ?? options.GrpcHttpClientTimeout,
            };
            if (storage.ValueKind == JsonValueKind.Object)
            {
                options = options with
                {
                    PartitionCount = Int(storage, "partitionCount") ?? options.PartitionCount,
                    ControlQueueBatchSize = Int(storage, "controlQueueBatchSize") ?? options.ControlQueueBatchSize,
                    ControlQueueBufferThreshold = Int(storage, "controlQueueBufferThreshold")
                        ?? options.ControlQueueBufferThreshold,
                    ControlQueueVisibilityTimeout = Duration(storage, "controlQueueVisibilityTimeout")
                        ?? options.ControlQueueVisibilityTimeout,
                    WorkItemQueueVisibilityTimeout = Duration(storage, "workItemQueueVisibilityTimeout")
                        ?? options.WorkItemQueueVisibilityTimeout,
                    MaxQueuePollingInterval = Duration(storage, "maxQueuePollingInterval")
                        ?? options.MaxQueuePollingInterval,
                    UseTablePartitionManagement = Bool(storage, "useTablePartitionManagement")
                        ?? options.UseTablePartitionManagement,
                };
            }
        }
        if (!string.IsNullOrWhiteSpace(hubOverride))
            options = options with { HubName = hubOverride.Trim() };
        options.Validate();
        return options;
    }

    /// <summary>Throws with the setting's host.json name when a value is out of range.</summary>
    public void Validate()
    {
        // Azure Storage's rules for the names derived from the hub (queues: lower-case, 3–63 characters with suffixes).
        if (HubName.Length is < 3 or > 45 || !HubName.All(char.IsAsciiLetterOrDigit) || !char.IsAsciiLetter(HubName[0]))
            throw new DurableConfigurationException(
                $"extensions.durableTask.hubName '{HubName}' must be 3–45 letters or digits, starting with a letter."
            );
        if (PartitionCount is < 1 or > 16)
            throw new DurableConfigurationException(
                $"storageProvider.partitionCount {PartitionCount} must be between 1 and 16."
            );
        if (ControlQueueBatchSize is < 1 or > 32)
            throw new DurableConfigurationException(
                $"storageProvider.controlQueueBatchSize {ControlQueueBatchSize} must be between 1 and 32."
            );
        if (
            ControlQueueVisibilityTimeout < TimeSpan.FromSeconds(5)
            || WorkItemQueueVisibilityTimeout < TimeSpan.FromSeconds(5)
        )
            throw new DurableConfigurationException(
                "storageProvider.controlQueueVisibilityTimeout and workItemQueueVisibilityTimeout must be at least 00:00:05."
            );
        if (MaxQueuePollingInterval <= TimeSpan.Zero)
            throw new DurableConfigurationException("storageProvider.maxQueuePollingInterval must be positive.");
        if (MaxConcurrentActivityFunctions < 1 || MaxConcurrentOrchestratorFunctions < 1)
            throw new DurableConfigurationException(
                "maxConcurrentActivityFunctions and maxConcurrentOrchestratorFunctions must be at least 1."
            );
        if (MaxGrpcMessageSizeInBytes < 1024)
            throw new DurableConfigurationException("maxGrpcMessageSizeInBytes must be at least 1024.");
    }

    private static bool TryGetIgnoreCase(JsonElement element, string name, out JsonElement value)
    {
        // host.json is read case-insensitively by the Functions host (IConfiguration), so we do too.
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }
        value = default;
        return false;
    }

    private static string? String(JsonElement section, string name) =>
        !TryGetIgnoreCase(section, name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw new DurableConfigurationException(
            $"extensions.durableTask: '{name}' must be a string, not {v.ValueKind}."
        );

    private static int? Int(JsonElement section, string name)
    {
        if (!TryGetIgnoreCase(section, name, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n))
            return n;
        // IConfiguration hands every value over as text, so the host accepts "4" as well as 4.
        if (
            v.ValueKind == JsonValueKind.String
            && int.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n)
        )
            return n;
        throw new DurableConfigurationException($"extensions.durableTask: '{name}' must be a whole number, not '{v}'.");
    }

    private static bool? Bool(JsonElement section, string name)
    {
        if (!TryGetIgnoreCase(section, name, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False)
            return v.GetBoolean();
        if (v.ValueKind == JsonValueKind.String && bool.TryParse(v.GetString(), out bool b))
            return b;
        throw new DurableConfigurationException($"extensions.durableTask: '{name}' must be true or false, not '{v}'.");
    }

    private static TimeSpan? Duration(JsonElement section, string name)
    {
        if (!TryGetIgnoreCase(section, name, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (
            v.ValueKind == JsonValueKind.String
            && TimeSpan.TryParse(v.GetString(), CultureInfo.InvariantCulture, out var t)
            && t > TimeSpan.Zero
        )
            return t;
        throw new DurableConfigurationException(
            $"extensions.durableTask: '{name}' must be a positive hh:mm:ss duration, not '{v}'."
        );
    }
}

/// <summary>host.json's Durable settings are unusable; the message names the setting.</summary>
public sealed class DurableConfigurationException(string message) : Exception(message);
