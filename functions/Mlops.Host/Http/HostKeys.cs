using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Mlops.Host.Hosting;

namespace Mlops.Host.Http;

/// <summary>
/// Function and master keys, stored as the Functions host stores them in blob storage (azure-functions-host v4.1037,
/// BlobStorageSecretsRepository and ScriptSecretSerializerV1): container <c>azure-webjobs-secrets</c>, blob
/// <c>{hostId}/host.json</c> holding <c>masterKey</c>, <c>functionKeys</c> and <c>systemKeys</c>, and
/// <c>{hostId}/{functionname}.json</c> (lower case) holding that function's <c>keys</c>; each key is
/// <c>{name, value, encrypted}</c>. The host keys are created once with random values (an ETag-guarded create, so hosts
/// on one account agree); function files are read, not created. Keys are matched as SecretManager does: the master
/// key (Admin), then the host function keys (Function), then the function's own keys (Function).
/// </summary>
public sealed class HostKeys
{
    /// <summary>The secrets container the host uses.</summary>
    public const string SecretsContainer = "azure-webjobs-secrets";

    /// <summary>The master key's name, in the key id claim and the secrets file.</summary>
    public const string MasterKeyName = "master";

    private static readonly TimeSpan FunctionKeysRefresh = TimeSpan.FromSeconds(2);
    private readonly BlobContainerClient _container;
    private readonly string _hostId;
    private readonly (string Name, byte[] Value)[] _hostFunctionKeys;
    private readonly byte[] _master;
    private readonly ConcurrentDictionary<string, FunctionKeySet> _functionKeys = new(StringComparer.OrdinalIgnoreCase);

    private HostKeys(
        BlobContainerClient container,
        string hostId,
        string masterKey,
        IReadOnlyList<(string Name, string Value)> functionKeys
    )
    {
        _container = container;
        _hostId = hostId;
        MasterKey = masterKey;
        _master = Encoding.UTF8.GetBytes(masterKey);
        _hostFunctionKeys = functionKeys.Select(k => (k.Name, Encoding.UTF8.GetBytes(k.Value))).ToArray();
        DefaultFunctionKey = functionKeys.FirstOrDefault(k => k.Name == "default").Value ?? functionKeys[0].Value;
    }

    /// <summary>The master key (admin level: every function).</summary>
    public string MasterKey { get; }

    /// <summary>The host's default function key (function level: every function).</summary>
    public string DefaultFunctionKey { get; }

    /// <summary>The blob path of the host secrets.</summary>
    public static string HostSecretsPath(string hostId) => $"{hostId.ToLowerInvariant()}/host.json";

    /// <summary>The blob path of a function's secrets.</summary>
    public static string FunctionSecretsPath(string hostId, string functionName) =>
        $"{hostId.ToLowerInvariant()}/{functionName.ToLowerInvariant()}.json";

    /// <summary>
    /// Reads the host secrets or creates them with random keys; <paramref name="configuredFunctionKey"/> and
    /// <paramref name="configuredMasterKey"/> (MLOPS_FUNCTION_KEY / MLOPS_MASTER_KEY) replace the stored default
    /// function key and master key for this process, and are what a new secrets file gets.
    /// </summary>
    public static async Task<HostKeys> LoadOrCreateAsync(
        BlobServiceClient blobs,
        string hostId,
        string? configuredFunctionKey,
        string? configuredMasterKey,
        HostLog log,
        CancellationToken cancellationToken = default
    )
    {
        if (!string.IsNullOrEmpty(configuredFunctionKey) && configuredFunctionKey == configuredMasterKey)
            throw new InvalidOperationException(
                "MLOPS_FUNCTION_KEY and MLOPS_MASTER_KEY must differ: a function key must not grant admin access."
            );
        var container = blobs.GetBlobContainerClient(SecretsContainer);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var blob = container.GetBlobClient(HostSecretsPath(hostId));
        for (int attempt = 0; ; attempt++)
        {
            JsonObject? stored = null;
            try
            {
                var content = await blob.DownloadContentAsync(cancellationToken);
                stored = JsonNode.Parse(content.Value.Content.ToString()) as JsonObject;
            }
            catch (RequestFailedException e) when (e.Status == 404) { }
            if (stored is not null)
            {
                string? master = KeyValue(stored["masterKey"], log, "masterKey");
                var functionKeys = Keys(stored["functionKeys"], log, "functionKeys");
                if (master is not null && functionKeys.Count > 0)
                    return new HostKeys(
                        container,
                        hostId,
                        Pick(configuredMasterKey, master),
                        Override(functionKeys, configuredFunctionKey)
                    );
                log.Host(
                    $"{SecretsContainer}/{HostSecretsPath(hostId)} has no usable masterKey or functionKeys: writing new keys"
                );
            }
            string newMaster = Pick(configuredMasterKey, null),
                newFunction = Pick(configuredFunctionKey, null);
            var secrets = new JsonObject
            {
                ["masterKey"] = Key(MasterKeyName, newMaster),
                ["functionKeys"] = new JsonArray(Key("default", newFunction)),
                ["systemKeys"] = new JsonArray(),
                ["hostName"] = "localhost",
                ["instanceId"] = Guid.NewGuid().ToString("N"),
                ["source"] = "runtime",
                ["decryptionKeyId"] = "",
            };
            try
            {
                var conditions = stored is null ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null;
                await blob.UploadAsync(
                    BinaryData.FromString(secrets.ToJsonString()),
                    new BlobUploadOptions { Conditions = conditions },
                    cancellationToken
                );
                return new HostKeys(container, hostId, newMaster, [("default", newFunction)]);
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && attempt < 3)
            {
                // Another host on this account created the secrets first: read theirs so every host agrees.
            }
        }
    }

    /// <summary>
    /// The key's name and the level it grants for <paramref name="functionName"/>, as the host's SecretManager decides;
    /// (null, Anonymous) when it matches no key. Comparisons are constant-time.
    /// </summary>
    public async ValueTask<(string? KeyName, AuthLevel Level)> AuthorizeAsync(
        string key,
        string functionName,
        CancellationToken cancellationToken = default
    )
    {
        byte[] presented = Encoding.UTF8.GetBytes(key);
        if (CryptographicOperations.FixedTimeEquals(presented, _master))
            return (MasterKeyName, AuthLevel.Admin);
        foreach (var (name, value) in _hostFunctionKeys)
            if (CryptographicOperations.FixedTimeEquals(presented, value))
                return (name, AuthLevel.Function);
        var set = _functionKeys.TryGetValue(functionName, out var cached) ? cached : null;
        if (set is null || DateTime.UtcNow - set.LoadedAt > FunctionKeysRefresh)
        {
            // A miss re-reads the function's secrets (throttled), as the host reloads secrets when a key does not
            // match.
            set = await LoadFunctionKeysAsync(functionName, cancellationToken);
        }
        foreach (var (name, value) in set.Keys)
            if (CryptographicOperations.FixedTimeEquals(presented, value))
                return (name, AuthLevel.Function);
        return (null, AuthLevel.Anonymous);
    }

    private async Task<FunctionKeySet> LoadFunctionKeysAsync(string functionName, CancellationToken cancellationToken)
    {
        var keys = new List<(string, byte[])>();
        try
        {
            var content = await _container
                .GetBlobClient(FunctionSecretsPath(_hostId, functionName))
                .DownloadContentAsync(cancellationToken);
            if (JsonNode.Parse(content.Value.Content.ToString()) is JsonObject doc)
                keys.AddRange(Keys(doc["keys"], null, "keys").Select(k => (k.Name, Encoding.UTF8.GetBytes(k.Value))));
        }
        catch (RequestFailedException e) when (e.Status == 404) { }
        var set = new FunctionKeySet(DateTime.UtcNow, keys.ToArray());
        _functionKeys[functionName] = set;
        return set;
    }

    private static JsonObject Key(string name, string value) =>
        new()
        {
            ["name"] = name,
            ["value"] = value,
            ["encrypted"] = false,
        };

    private static string? KeyValue(JsonNode? node, HostLog? log, string what)
    {
        if (node is not JsonObject o)
            return null;
        if (o["encrypted"]?.GetValue<bool>() == true)
        {
            // The host encrypts keys with the site's machine key, which a local host does not have.
            log?.Host($"ignoring encrypted key in {what}");
            return null;
        }
        return o["value"]?.GetValue<string>();
    }

    private static List<(string Name, string Value)> Keys(JsonNode? node, HostLog? log, string what) =>
        node is JsonArray array
            ? array
                .OfType<JsonObject>()
                .Select(k => (Name: k["name"]?.GetValue<string>() ?? "default", Value: KeyValue(k, log, what)))
                .Where(k => !string.IsNullOrEmpty(k.Value))
                .Select(k => (k.Name, k.Value!))
                .ToList()
            : [];

    private static List<(string Name, string Value)> Override(
        List<(string Name, string Value)> keys,
        string? configuredDefault
    )
    {
        if (string.IsNullOrEmpty(configuredDefault))
            return keys;
        var result = keys.Where(k => k.Name != "default").ToList();
        result.Insert(0, ("default", configuredDefault));
        return result;
    }

    private static string Pick(string? configured, string? stored) =>
        !string.IsNullOrWhiteSpace(configured) ? configured : stored ?? NewKey();

    /// <summary>A new random key: 40 random bytes, URL-safe base64 (usable in <c>?code=</c> without
    /// escaping).</summary>
    public static string NewKey() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(40)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed record FunctionKeySet(DateTime LoadedAt, (string Name, byte[] Value)[] Keys);
}
