using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Mlops.Core.Errors;
using Mlops.Core.Storage;

namespace Mlops.Storage.Azure;

/// <summary>
/// One storage account: the three Azure SDK service clients (blob, queue, table) on one shared HTTP pipeline and retry
/// policy, and the storage ports built on them. Connects by connection string (<c>AzureWebJobsStorage</c>, including
/// <c>UseDevelopmentStorage=true</c>) or identity-based by the Azure Functions convention
/// (<c>AzureWebJobsStorage__blobServiceUri</c>, <c>__queueServiceUri</c>, <c>__tableServiceUri</c> or
/// <c>__accountName</c>, optional <c>__credential</c>/<c>__clientId</c>).
/// </summary>
/// <remarks>
/// The service clients are public so the orchestration engine (DTFx's Azure Storage backend) can run on the same
/// account, credential and pipeline: build its <c>StorageAccountClientProvider</c> from <see cref="ConnectionString"/>
/// or from the service URIs plus <see cref="Credential"/>, with the options from <see cref="CreateBlobClientOptions"/>,
/// <see cref="CreateQueueClientOptions"/> and <see cref="CreateTableClientOptions"/>.
/// </remarks>
public sealed class AzureStorageAccount
{
    /// <summary>The connection string used when none is configured: the local emulator's default ports.</summary>
    public const string DevelopmentConnectionString = "UseDevelopmentStorage=true";

    /// <summary>The Functions host's setting for its own storage account.</summary>
    public const string DefaultSettingName = "AzureWebJobsStorage";

    private AzureStorageAccount(
        BlobServiceClient blobs,
        QueueServiceClient queues,
        TableServiceClient tables,
        string? connectionString,
        TokenCredential? credential
    )
    {
        BlobService = blobs;
        QueueService = queues;
        TableService = tables;
        ConnectionString = connectionString;
        Credential = credential;
        Services = new StorageServices(
            new AzureBlobStore(blobs),
            new AzureQueueStore(queues),
            new AzureTableStore(tables)
        );
    }

    /// <summary>Blob service client (artifacts, leases, the drop zone).</summary>
    public BlobServiceClient BlobService { get; }

    /// <summary>Queue service client.</summary>
    public QueueServiceClient QueueService { get; }

    /// <summary>Table service client (registry rows, receipts).</summary>
    public TableServiceClient TableService { get; }

    /// <summary>The connection string, or null for an identity-based connection.</summary>
    public string? ConnectionString { get; }

    /// <summary>The Entra ID credential of an identity-based connection, or null for a connection string.</summary>
    public TokenCredential? Credential { get; }

    /// <summary>Blob endpoint (for identity-based clients built elsewhere, e.g. the orchestration backend).</summary>
    public Uri BlobServiceUri => BlobService.Uri;

    /// <summary>Queue endpoint.</summary>
    public Uri QueueServiceUri => QueueService.Uri;

    /// <summary>Table endpoint.</summary>
    public Uri TableServiceUri => TableService.Uri;

    /// <summary>The storage ports over this account.</summary>
    public StorageServices Services { get; }

    /// <summary>
    /// The storage ports for a connection string (null or blank means the local emulator). Kept for callers that need
    /// only the ports; use <see cref="FromConnectionString"/> to reach the service clients too.
    /// </summary>
    /// <exception cref="MlopsException">The connection string is malformed (code
    /// <c>config.storage_connection</c>).</exception>
    public static StorageServices Connect(string? connectionString) => FromConnectionString(connectionString).Services;

    /// <summary>Connects with a connection string; null or blank means the local emulator.</summary>
    /// <param name="connectionString">An Azure Storage connection string.</param>
    /// <param name="settingName">Named in the error message when the string is malformed.</param>
    /// <exception cref="MlopsException">The connection string is malformed (code
    /// <c>config.storage_connection</c>).</exception>
    public static AzureStorageAccount FromConnectionString(
        string? connectionString,
        string settingName = DefaultSettingName
    )
    {
        string value = string.IsNullOrWhiteSpace(connectionString)
            ? DevelopmentConnectionString
            : connectionString.Trim();
        try
        {
            // Each constructor parses the string, so a malformed one fails here, at startup, not at the first request.
            return new AzureStorageAccount(
                new BlobServiceClient(value, StoragePipeline.BlobOptions()),
                new QueueServiceClient(value, StoragePipeline.QueueOptions()),
                new TableServiceClient(value, StoragePipeline.TableOptions()),
                value,
                credential: null
            );
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // Never echo the string itself: it holds the account key.
            throw new MlopsException(
                "config.storage_connection",
                $"Setting '{settingName}' is not a valid Azure Storage connection string ({FirstLine(e.Message)}). "
                    + "Expected e.g. 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…' or 'UseDevelopmentStorage=true'.",
                inner: e
            );
        }
    }

    /// <summary>
    /// Connects from configuration the way the Functions host does: the value of <paramref name="settingName"/> is a
    /// connection string; otherwise the section <c>{settingName}__*</c> (<c>{settingName}:*</c> in configuration) gives
    /// an identity-based connection. With neither, the local emulator is used.
    /// </summary>
    /// <param name="configuration">App settings / environment.</param>
    /// <param name="settingName">Usually <c>AzureWebJobsStorage</c>.</param>
    /// <param name="credential">Overrides the credential chosen from the settings (tests, custom auth).</param>
    /// <exception cref="MlopsException">A setting is malformed or incomplete (code
    /// <c>config.storage_connection</c>).</exception>
    public static AzureStorageAccount FromConfiguration(
        IConfiguration configuration,
        string settingName = DefaultSettingName,
        TokenCredential? credential = null
    )
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? connectionString = configuration[settingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
            return FromConnectionString(connectionString, settingName);
        var section = configuration.GetSection(settingName);
        if (!section.GetChildren().Any())
            return FromConnectionString(null, settingName);
        var identity = StorageIdentitySettings.Read(section, settingName);
        return FromServiceUris(
            identity.BlobServiceUri,
            identity.QueueServiceUri,
            identity.TableServiceUri,
            credential ?? identity.CreateCredential()
        );
    }

    /// <summary>
    /// Connects from environment variables (<c>AzureWebJobsStorage</c> or <c>AzureWebJobsStorage__*</c>), for tools
    /// such as the CLI that have no host configuration.
    /// </summary>
    /// <exception cref="MlopsException">A setting is malformed or incomplete (code
    /// <c>config.storage_connection</c>).</exception>
    public static AzureStorageAccount FromEnvironment(string settingName = DefaultSettingName)
    {
        // Environment variables use "__" where configuration keys use ":" (AzureWebJobsStorage__accountName).
        var values = new List<KeyValuePair<string, string?>>();
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            string key = ((string)entry.Key).Replace("__", ":", StringComparison.Ordinal);
            if (
                key.Equals(settingName, StringComparison.OrdinalIgnoreCase)
                || key.StartsWith(settingName + ":", StringComparison.OrdinalIgnoreCase)
            )
                values.Add(new(key, entry.Value as string));
        }
        return FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), settingName);
    }

    /// <summary>Connects identity-based (Entra ID) to the given endpoints.</summary>
    public static AzureStorageAccount FromServiceUris(
        Uri blobServiceUri,
        Uri queueServiceUri,
        Uri tableServiceUri,
        TokenCredential credential
    ) =>
        new(
            new BlobServiceClient(blobServiceUri, credential, StoragePipeline.BlobOptions()),
            new QueueServiceClient(queueServiceUri, credential, StoragePipeline.QueueOptions()),
            new TableServiceClient(tableServiceUri, credential, StoragePipeline.TableOptions()),
            connectionString: null,
            credential
        );

    /// <summary>Blob client options with this project's shared transport and retry policy.</summary>
    public static BlobClientOptions CreateBlobClientOptions() => StoragePipeline.BlobOptions();

    /// <summary>Queue client options with the shared transport and retry policy (no message encoding set).</summary>
    public static QueueClientOptions CreateQueueClientOptions() => StoragePipeline.QueueOptions();

    /// <summary>Table client options with the shared transport and retry policy.</summary>
    public static TableClientOptions CreateTableClientOptions() => StoragePipeline.TableOptions();

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
