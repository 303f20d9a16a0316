using Mlops.Registry;

namespace Mlops.Serving;

/// <summary>Loads models written by Mlops.ML. (Adapter filled in when Mlops.ML's model format lands.)</summary>
public sealed class MlModelLoader : IModelLoader
{
    /// <inheritdoc />
    public IServableModel Load(ModelVersion version, byte[] modelFile) =>
        throw new ServingException("serving.unsupported_model", $"No loader for {version.Model} v{version.Version} yet.", 503);
}
