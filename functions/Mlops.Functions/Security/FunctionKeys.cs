using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mlops.Core.Storage;

namespace Mlops.Functions.Security;

/// <summary>Which key a request presented: none, a function key (predict and reads) or the master key (everything).</summary>
public enum KeyLevel { None, Function, Admin }

/// <summary>
/// The two key levels of Azure Functions: a function key for predictions and reads, and the master (admin) key for
/// everything that changes state or reveals internals. Taken from <c>MLOPS_FUNCTION_KEY</c> / <c>MLOPS_MASTER_KEY</c>,
/// else generated once and stored in <c>azure-webjobs-secrets/{hostId}/host.json</c> (the Functions host's layout:
/// <c>masterKey</c>, <c>functionKeys</c>) so every host process on the account agrees.
/// </summary>
public sealed class FunctionKeys
{
    public const string SecretsContainer = "azure-webjobs-secrets";

    public FunctionKeys(string key, string masterKey, bool generated)
    {
        if (key == masterKey) throw new InvalidOperationException("MLOPS_FUNCTION_KEY and MLOPS_MASTER_KEY must differ: the master key must not be usable as a mere function key holder's secret.");
        Key = key;
        MasterKey = masterKey;
        Generated = generated;
    }

    /// <summary>The default function key: predict and read routes.</summary>
    public string Key { get; }
    /// <summary>The master key: every route, including orchestration management and registry changes.</summary>
    public string MasterKey { get; }
    public bool Generated { get; }

    public static async Task<FunctionKeys> LoadOrCreateAsync(IBlobStore blobs, string hostId, string? configuredKey, string? configuredMasterKey = null, CancellationToken cancellationToken = default)
    {
        string name = $"{hostId}/host.json";
        for (int attempt = 0; ; attempt++)
        {
            var existing = await blobs.ReadAsync(SecretsContainer, name, cancellationToken);
            var doc = existing is null ? new JsonObject() : JsonNode.Parse(existing.Data) as JsonObject ?? new JsonObject();
            string? storedFunction = doc["functionKeys"] switch
            {
                JsonArray a => a.OfType<JsonObject>().FirstOrDefault(k => (string?)k["name"] == "default")?["value"]?.GetValue<string>(),
                JsonObject o => o["default"]?.GetValue<string>(), // the layout of earlier versions of this app
                _ => null,
            };
            string? storedMaster = doc["masterKey"]?["value"]?.GetValue<string>();
            string function = Pick(configuredKey, storedFunction), master = Pick(configuredMasterKey, storedMaster);
            bool generated = storedFunction is null && configuredKey is null || storedMaster is null && configuredMasterKey is null;
            if (!generated) return new FunctionKeys(function, master, false);

            var secrets = new JsonObject
            {
                ["masterKey"] = new JsonObject { ["name"] = "master", ["value"] = storedMaster ?? master, ["encrypted"] = false },
                ["functionKeys"] = new JsonArray(new JsonObject { ["name"] = "default", ["value"] = storedFunction ?? function, ["encrypted"] = false }),
            };
            try
            {
                await blobs.WriteAsync(SecretsContainer, name, JsonSerializer.SerializeToUtf8Bytes(secrets),
                    existing is null ? WriteCondition.NotExists : WriteCondition.Match(existing.ETag), cancellationToken);
                return new FunctionKeys(function, master, true);
            }
            catch (StorageConflictException) when (attempt < 3)
            {
                // Another host process wrote the secrets first: read theirs, so all processes share the same keys.
            }
        }
    }

    private static string Pick(string? configured, string? stored) =>
        !string.IsNullOrWhiteSpace(configured) ? configured : stored ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)).Replace('+', '-').Replace('/', '_');

    /// <summary>The level a presented key grants (constant-time comparisons, so timing does not leak a key).</summary>
    public KeyLevel LevelOf(string? candidate)
    {
        if (candidate is null) return KeyLevel.None;
        byte[] c = System.Text.Encoding.UTF8.GetBytes(candidate);
        if (CryptographicOperations.FixedTimeEquals(c, System.Text.Encoding.UTF8.GetBytes(MasterKey))) return KeyLevel.Admin;
        if (CryptographicOperations.FixedTimeEquals(c, System.Text.Encoding.UTF8.GetBytes(Key))) return KeyLevel.Function;
        return KeyLevel.None;
    }

    /// <summary>True for any valid key (function or master).</summary>
    public bool Matches(string? candidate) => LevelOf(candidate) != KeyLevel.None;
}
