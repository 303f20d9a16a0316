using System.Text;
using System.Text.RegularExpressions;

namespace Mlops.Host.Triggers;

/// <summary>
/// A blob trigger's <c>path</c> ("container/pattern"), matched the way the Blobs extension matches it
/// (azure-sdk-for-net Microsoft.Azure.WebJobs.Extensions.Storage.Blobs 5.3.x: BlobPathSource,
/// ParameterizedBlobPathSource; azure-webjobs-sdk BindingTemplateSource): the container is literal and compared without
/// case; each <c>{name}</c> in the blob part captures any text (greedy, so <c>{a}/{b}</c> puts every slash but the last
/// into <c>a</c>); <c>{{</c> and <c>}}</c> are literal braces; the rest of the blob part matches exactly, with case. A
/// path of only a container matches every blob in it.
/// </summary>
public sealed class BlobPathPattern
{
    private readonly Regex? _blobRegex;

    private BlobPathPattern(
        string pattern,
        string container,
        string blobPattern,
        Regex? blobRegex,
        IReadOnlyList<string> parameters,
        string listPrefix
    )
    {
        ListPrefix = listPrefix;
        Pattern = pattern;
        Container = container;
        BlobPattern = blobPattern;
        _blobRegex = blobRegex;
        ParameterNames = parameters;
    }

    /// <summary>The path as written in the binding.</summary>
    public string Pattern { get; }

    /// <summary>The container the trigger watches.</summary>
    public string Container { get; }

    /// <summary>The blob-name part of the pattern (empty for a whole container).</summary>
    public string BlobPattern { get; }

    /// <summary>The names in braces, in order; each becomes a trigger-metadata value.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>
    /// The longest literal start of the blob part, so a watcher can list only blobs that can match
    /// (e.g. "uploads/" for "uploads/{name}.csv").
    /// </summary>
    public string ListPrefix { get; }

    /// <summary>Parses a binding path; throws <see cref="FormatException"/> with the reason for a path the host
    /// rejects.</summary>
    public static BlobPathPattern Parse(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
            throw new FormatException("A blob trigger path must not be empty; write 'container/blob'.");
        int slash = pattern.IndexOf('/');
        string container = slash < 0 ? pattern : pattern[..slash];
        string blob = slash < 0 ? "" : pattern[(slash + 1)..];
        if (slash == 0 || slash == pattern.Length - 1 || container.Contains('\\'))
            throw new FormatException(
                $"Invalid blob trigger path '{pattern}'. Paths must be in the format 'container/blob'."
            );
        if (container.Contains('{'))
            throw new FormatException(
                $"Invalid blob trigger path '{pattern}'. Container paths cannot contain {{resolve}} tokens."
            );
        if (!IsValidContainerName(container))
            throw new FormatException(
                $"Invalid blob trigger path '{pattern}': '{container}' is not a valid container name "
                    + "(3-63 lowercase letters, digits and single dashes, starting with a letter or digit)."
            );

        var parameters = new List<string>();
        var regex = new StringBuilder("^");
        var literalStart = new StringBuilder(); // the blob part's text before its first parameter
        int i = 0;
        while (i < blob.Length)
        {
            if ((blob[i] == '{' || blob[i] == '}') && i + 1 < blob.Length && blob[i + 1] == blob[i])
            {
                regex.Append(Regex.Escape(blob[i].ToString()));
                if (parameters.Count == 0)
                    literalStart.Append(blob[i]);
                i += 2;
                continue;
            }
            if (blob[i] == '}')
                throw new FormatException(
                    $"Invalid blob trigger path '{pattern}': '}}' at {slash + 2 + i} has no opening '{{'."
                );
            if (blob[i] == '{')
            {
                int close = blob.IndexOf('}', i + 1);
                int nextOpen = blob.IndexOf('{', i + 1);
                if (close < 0 || (nextOpen >= 0 && nextOpen < close))
                    throw new FormatException(
                        $"Invalid blob trigger path '{pattern}': '{{' at {slash + 2 + i} has no closing '}}'."
                    );
                string name = blob[(i + 1)..close];
                if (name.Length == 0 || !Regex.IsMatch(name, "^[A-Za-z_][A-Za-z0-9_]*$"))
                    throw new FormatException(
                        $"Invalid blob trigger path '{pattern}': '{{{name}}}' is not a parameter name."
                    );
                if (parameters.Contains(name, StringComparer.OrdinalIgnoreCase))
                    throw new FormatException($"Invalid blob trigger path '{pattern}': '{{{name}}}' appears twice.");
                parameters.Add(name);
                regex.Append("(?<").Append(name).Append(">.*)");
                i = close + 1;
                continue;
            }
            int literalEnd = i;
            while (literalEnd < blob.Length && blob[literalEnd] != '{' && blob[literalEnd] != '}')
                literalEnd++;
            regex.Append(Regex.Escape(blob[i..literalEnd]));
            if (parameters.Count == 0)
                literalStart.Append(blob, i, literalEnd - i);
            i = literalEnd;
        }
        regex.Append('$');
        var compiled =
            blob.Length == 0
                ? null
                : new Regex(regex.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
        return new BlobPathPattern(pattern, container, blob, compiled, parameters, literalStart.ToString());
    }

    /// <summary>
    /// Matches a blob; returns the captured values by parameter name (case-insensitive keys), or null when the blob is
    /// not one this trigger fires for.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Match(string container, string blobName)
    {
        if (!string.Equals(container, Container, StringComparison.OrdinalIgnoreCase))
            return null;
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (_blobRegex is null)
            return values;
        var match = _blobRegex.Match(blobName);
        if (!match.Success)
            return null;
        foreach (string name in ParameterNames)
            values[name] = match.Groups[name].Value;
        return values;
    }

    private static bool IsValidContainerName(string name) =>
        name == "$root"
        || name == "$web"
        || (name.Length is >= 3 and <= 63 && Regex.IsMatch(name, "^[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]$"));

    /// <inheritdoc />
    public override string ToString() => Pattern;
}
