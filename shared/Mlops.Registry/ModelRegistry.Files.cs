using System.Text.RegularExpressions;

namespace Mlops.Registry;

public sealed partial class ModelRegistry
{
    // Files the registry writes itself; an extra file may not replace them.
    private static readonly HashSet<string> ReservedFiles = new(StringComparer.Ordinal)
    {
        "model.json",
        "metrics.json",
        "lineage.json",
        "gate.json",
    };

    /// <summary>
    /// Stores an extra file with a registered version (<c>{container}/{model}/v{N}/{name}</c>), e.g. the global
    /// importance computed at registration. Rewriting the same file is safe (activities retry). Names are 1–64
    /// lower-case letters, digits, '_', '-' and '.', and not one of the registry's own files.
    /// </summary>
    public async Task WriteVersionFileAsync(
        string model,
        int version,
        string name,
        ReadOnlyMemory<byte> data,
        CancellationToken cancellationToken = default
    )
    {
        CheckFileName(name);
        var v = await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        await _blobs
            .WriteAsync(
                _options.Container,
                $"{v.Model}/v{v.Version}/{name}",
                data,
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
    }

    /// <summary>An extra file of a version (see <see cref="WriteVersionFileAsync"/>), or null when it was not
    /// stored.</summary>
    public async Task<byte[]?> ReadVersionFileAsync(
        string model,
        int version,
        string name,
        CancellationToken cancellationToken = default
    )
    {
        CheckFileName(name);
        var v = await GetVersionAsync(model, version, cancellationToken).ConfigureAwait(false);
        var blob = await _blobs
            .ReadAsync(_options.Container, $"{v.Model}/v{v.Version}/{name}", cancellationToken)
            .ConfigureAwait(false);
        return blob?.Data;
    }

    private static void CheckFileName(string name)
    {
        if (
            string.IsNullOrEmpty(name)
            || name.Length > 64
            || !FileNamePattern().IsMatch(name)
            || ReservedFiles.Contains(name)
        )
            throw new RegistryException(
                "registry.invalid_file_name",
                $"'{name}' is not a valid extra file name (1-64 of a-z, 0-9, '_', '-', '.', not starting with '.'; not model/metrics/lineage/gate.json)."
            );
    }

    [GeneratedRegex("^[a-z0-9_-][a-z0-9_.-]*$")]
    private static partial Regex FileNamePattern();
}
