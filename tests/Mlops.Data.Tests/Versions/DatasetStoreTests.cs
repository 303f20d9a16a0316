using Mlops.Core.Storage;
using Mlops.Storage.Azure;
using Mlops.Storage.InMemory;
using Mlops.Testing;
using Xunit;

namespace Mlops.Data.Tests.Versions;

/// <summary>The contract on the in-memory doubles.</summary>
public class InMemoryDatasetStoreTests : DatasetStoreContract
{
    protected override IBlobStore Blobs { get; } = new InMemoryBlobStore();
    protected override ITableStore Tables { get; } = new InMemoryTableStore();
}

/// <summary>The contract end to end on a real Azurite (one instance for the class).</summary>
public class AzuriteDatasetStoreTests(AzuriteFixture azurite) : DatasetStoreContract, IClassFixture<AzuriteFixture>
{
    private readonly StorageServices _storage = AzureStorageAccount.Connect(azurite.ConnectionString);
    protected override IBlobStore Blobs => _storage.Blobs;
    protected override ITableStore Tables => _storage.Tables;
}
