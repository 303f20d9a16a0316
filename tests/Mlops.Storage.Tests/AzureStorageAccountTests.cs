using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Mlops.Core.Errors;
using Mlops.Core.Storage;
using Mlops.Storage.Azure;
using Mlops.Testing;
using Xunit;

namespace Mlops.Storage.Tests;

/// <summary>How <see cref="AzureStorageAccount"/> reads <c>AzureWebJobsStorage</c> (connection string or
/// identity-based).</summary>
public sealed class AzureStorageAccountTests
{
    private const string Key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    [Theory]
    [InlineData("not a connection string")]
    [InlineData("DefaultEndpointsProtocol=https;AccountKey=" + Key)]
    [InlineData("BlobEndpoint=::not a uri::;AccountName=a;AccountKey=" + Key)]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=not-base64!")]
    public void FromConnectionString_Malformed_ThrowsOneLineErrorNamingTheSetting(string connectionString)
    {
        var e = Assert.Throws<MlopsException>(() =>
            AzureStorageAccount.FromConnectionString(connectionString, "AzureWebJobsStorage")
        );
        Assert.Equal("config.storage_connection", e.Code);
        Assert.Contains("'AzureWebJobsStorage'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain("not-base64", e.Message); // the value (it may hold a key) is never echoed
    }

    [Fact]
    public void FromConfiguration_MalformedValue_NamesTheConfiguredSetting()
    {
        var e = Assert.Throws<MlopsException>(() =>
            AzureStorageAccount.FromConfiguration(Config(("MyStorage", "garbage")), "MyStorage")
        );
        Assert.Contains("'MyStorage'", e.Message);
    }

    [Fact]
    public void Connect_DevelopmentStorageOrNothing_UsesEmulatorPorts()
    {
        foreach (string? value in new[] { "UseDevelopmentStorage=true", null, "  " })
        {
            var account = AzureStorageAccount.FromConnectionString(value);
            Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), account.BlobServiceUri);
            Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), account.QueueServiceUri);
            Assert.Equal(10002, account.TableServiceUri.Port);
            Assert.Null(account.Credential);
            Assert.NotNull(account.ConnectionString);
        }
        Assert.Equal(10000, AzureStorageAccount.FromConfiguration(Config()).BlobServiceUri.Port);
    }

    [Fact]
    public void FromConfiguration_ServiceUris_ConnectsIdentityBasedWithManagedIdentity()
    {
        var account = AzureStorageAccount.FromConfiguration(
            Config(
                ("AzureWebJobsStorage:blobServiceUri", "https://acct.blob.core.windows.net"),
                ("AzureWebJobsStorage:queueServiceUri", "https://acct.queue.core.windows.net"),
                ("AzureWebJobsStorage:tableServiceUri", "https://acct.table.core.windows.net"),
                ("AzureWebJobsStorage:credential", "managedidentity"),
                ("AzureWebJobsStorage:clientId", "00000000-0000-0000-0000-000000000001")
            )
        );
        Assert.Equal("acct.blob.core.windows.net", account.BlobServiceUri.Host);
        Assert.Equal("acct.queue.core.windows.net", account.QueueServiceUri.Host);
        Assert.Equal("acct.table.core.windows.net", account.TableServiceUri.Host);
        Assert.IsType<ManagedIdentityCredential>(account.Credential);
        Assert.Null(account.ConnectionString);
        Assert.NotNull(account.Services.Blobs);
    }

    [Fact]
    public void FromConfiguration_EnvironmentVariableStyle_AccountNameDerivesEndpoints_DefaultCredential()
    {
        // AzureWebJobsStorage__accountName as an environment variable arrives as the section key
        // "AzureWebJobsStorage:accountName".
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection([new("AzureWebJobsStorage:accountName", "mlopsacct")])
            .Build();
        var account = AzureStorageAccount.FromConfiguration(config);
        Assert.Equal(new Uri("https://mlopsacct.blob.core.windows.net"), account.BlobServiceUri);
        Assert.Equal(new Uri("https://mlopsacct.queue.core.windows.net"), account.QueueServiceUri);
        Assert.Equal(new Uri("https://mlopsacct.table.core.windows.net"), account.TableServiceUri);
        Assert.IsType<DefaultAzureCredential>(account.Credential);
    }

    [Theory]
    [InlineData("blobServiceUri", "https://a.blob.core.windows.net", "queueServiceUri")]
    [InlineData("credential", "secretkey", "credential")]
    public void FromConfiguration_IncompleteIdentitySettings_NameTheMissingOrBadSetting(
        string key,
        string value,
        string named
    )
    {
        var e = Assert.Throws<MlopsException>(() =>
            AzureStorageAccount.FromConfiguration(
                Config(
                    ("AzureWebJobsStorage:" + key, value),
                    ("AzureWebJobsStorage:tableServiceUri", "https://a.table.core.windows.net")
                )
            )
        );
        Assert.Equal("config.storage_connection", e.Code);
        Assert.Contains("AzureWebJobsStorage__" + named, e.Message);
    }

    [Fact]
    public void FromEnvironment_DoubleUnderscoreVariables_ConnectIdentityBased()
    {
        string setting = "MlopsTestStorage" + Guid.NewGuid().ToString("N")[..8]; // unique: the environment is process-wide
        Environment.SetEnvironmentVariable(setting + "__accountName", "envacct");
        Environment.SetEnvironmentVariable(setting + "__credential", "managedidentity");
        try
        {
            var account = AzureStorageAccount.FromEnvironment(setting);
            Assert.Equal("envacct.table.core.windows.net", account.TableServiceUri.Host);
            Assert.IsType<ManagedIdentityCredential>(account.Credential);
        }
        finally
        {
            Environment.SetEnvironmentVariable(setting + "__accountName", null);
            Environment.SetEnvironmentVariable(setting + "__credential", null);
        }
    }

    [Fact]
    public void FromConfiguration_RelativeServiceUri_IsRejected()
    {
        var e = Assert.Throws<MlopsException>(() =>
            AzureStorageAccount.FromConfiguration(
                Config(("AzureWebJobsStorage:accountName", "a"), ("AzureWebJobsStorage:queueServiceUri", "queue.local"))
            )
        );
        Assert.Contains("AzureWebJobsStorage__queueServiceUri", e.Message);
    }
}

/// <summary>The account's service clients reach the same storage as its ports, so other components can share
/// them.</summary>
public sealed class AzureStorageAccountAzuriteTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task ServiceClients_SeeWhatThePortsWrote()
    {
        var account = AzureStorageAccount.FromConfiguration(
            new ConfigurationBuilder()
                .AddInMemoryCollection([new("AzureWebJobsStorage", azurite.ConnectionString)])
                .Build()
        );
        await account.Services.Blobs.WriteAsync("shared", "x.txt", "hi"u8.ToArray());
        await account.Services.Queues.EnqueueAsync("sharedq", "m");
        await account.Services.Tables.ExecuteAsync(
            "sharedt",
            new(Core.Storage.TableOperationKind.Upsert, new Core.Storage.TableRow("p", "r"))
        );
        Assert.True(
            (await account.BlobService.GetBlobContainerClient("shared").GetBlobClient("x.txt").ExistsAsync()).Value
        );
        Assert.Equal(
            1,
            (await account.QueueService.GetQueueClient("sharedq").GetPropertiesAsync()).Value.ApproximateMessagesCount
        );
        Assert.NotNull(
            (
                await account
                    .TableService.GetTableClient("sharedt")
                    .GetEntityIfExistsAsync<global::Azure.Data.Tables.TableEntity>("p", "r")
            ).Value
        );
    }

    [Fact]
    public async Task InvalidName_IsATypedBadRequestWithTheServiceReason_NotA500()
    {
        var storage = AzureStorageAccount.Connect(azurite.ConnectionString);
        // Table names need 3–63 characters: storage answers 400, which reaches callers as a typed 4xx error.
        var e = await Assert.ThrowsAsync<MlopsException>(() =>
            storage.Tables.InsertAsync("t", new Core.Storage.TableRow("p", "r"))
        );
        Assert.Equal("storage.invalid_request", e.Code);
        Assert.Equal(400, e.Status);
        Assert.Contains("resource name length", e.Message);
    }
}
