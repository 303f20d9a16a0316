using System.Security.Cryptography;
using System.Text;

namespace Mlops.Core;

/// <summary>
/// A stable, non-reversible name for a caller's key: what feedback caps and provenance record instead of the key itself
/// (lineage and tables are readable by more people than the keys are).
/// </summary>
public static class KeyFingerprint
{
    /// <summary>Fingerprint of a request without a key.</summary>
    public const string Anonymous = "anonymous";

    /// <summary><c>key-</c> and the first 16 hex digits of the key's SHA-256; <see cref="Anonymous"/> for
    /// none.</summary>
    public static string Of(string? key) =>
        string.IsNullOrEmpty(key)
            ? Anonymous
            : "key-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
}
