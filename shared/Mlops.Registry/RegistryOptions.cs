using System.Text.RegularExpressions;
using Mlops.Core.Naming;

namespace Mlops.Registry;

/// <summary>Where the registry keeps its blobs and index rows.</summary>
public sealed partial class RegistryOptions
{
    /// <summary>Blob container for model files, metrics and lineage (<c>{model}/v{N}/…</c>).</summary>
    public string Container { get; set; } = "models";

    /// <summary>Table holding versions, aliases/traffic state, history and the model index.</summary>
    public string Table { get; set; } = "modelregistry";

    /// <summary>Also append each history entry to <c>{model}/history.jsonl</c> (an immutable audit copy of the table
    /// rows).</summary>
    public bool AppendHistoryBlob { get; set; } = true;

    /// <summary>How many previous production versions rollback remembers.</summary>
    public int RollbackDepth { get; set; } = 20;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is invalid.</summary>
    public RegistryOptions Validate()
    {
        if (!ContainerName().IsMatch(Container))
            throw new ArgumentException(
                $"RegistryOptions.Container '{Container}' is not a valid blob container name (3-63 lowercase letters, digits, '-')."
            );
        if (!TableName().IsMatch(Table))
            throw new ArgumentException(
                $"RegistryOptions.Table '{Table}' is not a valid table name (3-63 letters/digits, starting with a letter)."
            );
        if (RollbackDepth is < 1 or > 1000)
            throw new ArgumentException("RegistryOptions.RollbackDepth must be 1..1000.");
        return this;
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")]
    private static partial Regex ContainerName();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,62}$")]
    private static partial Regex TableName();
}

/// <summary>
/// Rules for model and alias names (they become table keys and blob path segments). A model is named after its
/// dataset, so model names follow the one dataset-name rule (<see cref="DatasetName"/>).
/// </summary>
public static partial class RegistryNames
{
    /// <summary>Throws a 400 <see cref="Mlops.Core.Errors.MlopsException"/> (<see cref="DatasetName.InvalidCode"/>)
    /// unless <paramref name="model"/> is a valid model (dataset) name.</summary>
    public static string CheckModel(string? model) => DatasetName.Parse(model).Value;

    /// <summary>Throws a 400 <see cref="RegistryException"/> unless <paramref name="alias"/> is a valid alias
    /// name.</summary>
    public static string CheckAlias(string? alias)
    {
        if (alias is null || !Name().IsMatch(alias))
            throw new RegistryException(
                "registry.invalid_alias",
                $"Alias '{alias}' is invalid: use 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit."
            );
        return alias;
    }

    /// <summary>True when <paramref name="model"/> is a valid model (dataset) name.</summary>
    public static bool IsValid(string? model) => DatasetName.IsValid(model);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    private static partial Regex Name();
}
