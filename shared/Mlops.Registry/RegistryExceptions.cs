using Mlops.Core.Errors;

namespace Mlops.Registry;

/// <summary>A registry request that cannot be carried out; <see cref="MlopsException.Status"/> maps to HTTP.</summary>
public sealed class RegistryException(string code, string message, int status = 400, Exception? inner = null)
    : MlopsException(code, message, status, inner)
{
    internal static RegistryException UnknownModel(string model) =>
        new("registry.unknown_model", $"Model '{model}' is not registered.", 404);

    internal static RegistryException UnknownVersion(string model, int version) =>
        new("registry.unknown_version", $"Model '{model}' has no version {version}.", 404);

    internal static RegistryException Conflict(string model, Exception? inner = null) =>
        new(
            "registry.conflict",
            $"The aliases or traffic of model '{model}' changed concurrently; nothing was written. Re-read the model and retry.",
            409,
            inner
        );
}
