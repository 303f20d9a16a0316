using Mlops.Core.Storage;
using Mlops.Data.Versions;
using Mlops.Registry;

namespace Mlops.Pipelines.Activities;

/// <summary>The libraries the pipeline's activities use, built once per host process over one storage
/// account.</summary>
public sealed class PipelineServices(StorageServices storage, DatasetStore datasets, ModelRegistry registry)
{
    public const string ApprovalsTable = "approvals";

    public StorageServices Storage { get; } = storage;
    public DatasetStore Datasets { get; } = datasets;
    public ModelRegistry Registry { get; } = registry;
    public TrainingData TrainingData { get; } = new(datasets, storage.Blobs);

    public static PipelineServices Create(StorageServices storage) =>
        new(storage, new DatasetStore(storage.Blobs, storage.Tables), new ModelRegistry(storage.Blobs, storage.Tables));
}
