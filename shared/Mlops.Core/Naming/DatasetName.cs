using System.Diagnostics.CodeAnalysis;
using Mlops.Core.Errors;

namespace Mlops.Core.Naming;

/// <summary>
/// A validated dataset (and model) name. Dataset names become blob path segments, container-style prefixes, table keys
/// and orchestration instance ids, so there is one rule for all of them, the strictest Azure one (a blob container
/// name): 3-63 characters, lower-case letters, digits and '-', starting and ending with a letter or digit, never "--".
/// Build blob paths from a <see cref="DatasetName"/>, never from a caller's string.
/// </summary>
public readonly record struct DatasetName
{
    /// <summary>The rule in one sentence, for error messages and documentation.</summary>
    public const string Rule =
        "3-63 characters: lower-case letters, digits and '-', starting and ending with a letter or digit, no '--'";

    /// <summary>Error code of an invalid name (HTTP 400).</summary>
    public const string InvalidCode = "dataset.invalid_name";

    private readonly string? _value;

    private DatasetName(string value) => _value = value;

    /// <summary>The name (never null; an uninitialized <c>default</c> value throws rather than act as an empty
    /// name).</summary>
    public string Value => _value ?? throw new InvalidOperationException("An uninitialized DatasetName was used.");

    /// <summary>Parses <paramref name="name"/>, or throws a 400 <see cref="MlopsException"/> (<see
    /// cref="InvalidCode"/>) that states the rule.</summary>
    public static DatasetName Parse(string? name) =>
        TryParse(name, out var parsed, out string? why)
            ? parsed
            : throw new MlopsException(
                InvalidCode,
                $"'{Printable(name)}' is not a valid dataset name: {why}. Use {Rule}."
            );

    /// <summary>Parses <paramref name="name"/> without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? name, out DatasetName result) =>
        TryParse(name, out result, out _);

    /// <summary>Parses <paramref name="name"/>; on failure <paramref name="why"/> says which part of the rule it
    /// breaks.</summary>
    public static bool TryParse(
        [NotNullWhen(true)] string? name,
        out DatasetName result,
        [NotNullWhen(false)] out string? why
    )
    {
        why = Check(name);
        result = why is null ? new DatasetName(name!) : default;
        return why is null;
    }

    /// <summary>True when <paramref name="name"/> follows the rule.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name) => Check(name) is null;

    private static string? Check(string? name)
    {
        if (name is null)
            return "no name was given";
        if (name.Length is < 3 or > 63)
            return $"it has {name.Length} characters";
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c == '-')
            {
                if (i == 0 || i == name.Length - 1)
                    return "it starts or ends with '-'";
                if (name[i - 1] == '-')
                    return "it contains '--'";
            }
            else if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
            {
                return $"character {i + 1} is not allowed";
            }
        }
        return null;
    }

    // Names come from URLs and file paths: keep control characters and very long inputs out of the error message.
    private static string Printable(string? name)
    {
        if (name is null)
            return "";
        var safe = new string(name.Take(80).Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '?' : c).ToArray());
        return name.Length > 80 ? safe + "…" : safe;
    }

    /// <summary>The name.</summary>
    public override string ToString() => Value;

    /// <summary>The name as a string (for path building and logging).</summary>
    public static implicit operator string(DatasetName name) => name.Value;
}
