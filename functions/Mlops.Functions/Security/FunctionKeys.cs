using System.Security.Cryptography;
using System.Text.Json;
using Mlops.Core.Storage;

namespace Mlops.Functions.Security;

/// <summary>
/// The function key guarding /api. Taken from MLOPS_FUNCTION_KEY, else generated once and stored in storage
/// (like the Functions host's secrets in <c>azure-webjobs-secrets</c>) so every host process on the account agrees.
/// </summary>
public sealed class FunctionKeys
{
    public const string SecretsContainer = "azure-webjobs-secrets";

    public FunctionKeys(string key, bool generated) { Key = key; Generated = generated; }

    public string Key { get; }
    public bool Generated { get; }

    public static async Task<FunctionKeys> LoadOrCreateAsync(IBlobStore blobs, string hostId, string? configuredKey, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrWhiteSpace(configuredKey)) return new FunctionKeys(configuredKey, false);
        string name = $"{hostId}/host.json";
        var existing = await blobs.ReadAsync(SecretsContainer, name, cancellationToken);
        if (existing is not null) return new FunctionKeys(Read(existing.Data), false);
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)).Replace('+', '-').Replace('/', '_');
        try
        {
            await blobs.WriteAsync(SecretsContainer, name, JsonSerializer.SerializeToUtf8Bytes(new { functionKeys = new { @default = key } }), WriteCondition.NotExists, cancellationToken);
            return new FunctionKeys(key, true);
        }
        catch (StorageConflictException)
        {
            // Another host process generated it first: use theirs, so all processes share one key.
            return new FunctionKeys(Read((await blobs.ReadAsync(SecretsContainer, name, cancellationToken))!.Data), false);
        }
    }

    private static string Read(byte[] json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("functionKeys").GetProperty("default").GetString()
        ?? throw new InvalidOperationException("Stored function key is empty.");

    /// <summary>Constant-time comparison, so response timing does not leak the key.</summary>
    public bool Matches(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(candidate), System.Text.Encoding.UTF8.GetBytes(Key));
}
