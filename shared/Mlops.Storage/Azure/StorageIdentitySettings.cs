using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Mlops.Core.Errors;

namespace Mlops.Storage.Azure;

/// <summary>
/// The identity-based connection settings of the Azure Functions convention, read from the section
/// <c>{name}__*</c>: service URIs (or an account name) and how to get a token.
/// </summary>
/// <param name="BlobServiceUri">From <c>__blobServiceUri</c> (or <c>__serviceUri</c>), else derived from
/// <c>__accountName</c>.</param>
/// <param name="QueueServiceUri">From <c>__queueServiceUri</c>, else derived from <c>__accountName</c>.</param>
/// <param name="TableServiceUri">From <c>__tableServiceUri</c>, else derived from <c>__accountName</c>.</param>
/// <param name="CredentialKind"><c>__credential</c>: <c>managedidentity</c>, or null for the default chain.</param>
/// <param name="ClientId"><c>__clientId</c>: a user-assigned identity (or app registration with a secret).</param>
/// <param name="TenantId"><c>__tenantId</c>.</param>
/// <param name="ClientSecret"><c>__clientSecret</c>: with a client and tenant id, a service principal.</param>
internal sealed record StorageIdentitySettings(
    Uri BlobServiceUri,
    Uri QueueServiceUri,
    Uri TableServiceUri,
    string? CredentialKind,
    string? ClientId,
    string? TenantId,
    string? ClientSecret
)
{
    /// <summary>Reads and validates the section; every error names the setting to fix.</summary>
    public static StorageIdentitySettings Read(IConfigurationSection section, string settingName)
    {
        string? accountName = Value(section, "accountName");
        Uri Endpoint(string key, string service, string? alias = null)
        {
            string? raw = Value(section, key) ?? (alias is null ? null : Value(section, alias));
            if (raw is null)
            {
                if (accountName is null)
                    throw Invalid(
                        $"'{settingName}__{key}' is missing: set it (or '{settingName}__accountName') for an identity-based connection"
                    );
                raw = $"https://{accountName}.{service}.core.windows.net";
            }
            if (!Uri.TryCreate(raw, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
                throw Invalid($"'{settingName}__{key}' must be an absolute https URI, got '{raw}'");
            return uri;
        }

        string? kind = Value(section, "credential");
        if (kind is not null && !kind.Equals("managedidentity", StringComparison.OrdinalIgnoreCase))
            throw Invalid($"'{settingName}__credential' must be 'managedidentity' or absent, got '{kind}'");
        return new StorageIdentitySettings(
            Endpoint("blobServiceUri", "blob", alias: "serviceUri"),
            Endpoint("queueServiceUri", "queue"),
            Endpoint("tableServiceUri", "table"),
            kind,
            Value(section, "clientId"),
            Value(section, "tenantId"),
            Value(section, "clientSecret")
        );
    }

    /// <summary>
    /// The credential the Functions host would use: a managed identity (user-assigned when a client id is given) for
    /// <c>credential=managedidentity</c>; a service principal when client id, tenant id and secret are all set;
    /// otherwise <see cref="DefaultAzureCredential"/> (developer sign-in locally, managed identity in Azure).
    /// </summary>
    public TokenCredential CreateCredential()
    {
        if (CredentialKind is not null)
            return ClientId is null
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(ClientId));
        if (ClientId is not null && TenantId is not null && ClientSecret is not null)
            return new ClientSecretCredential(TenantId, ClientId, ClientSecret);
        var options = new DefaultAzureCredentialOptions();
        if (ClientId is not null)
            options.ManagedIdentityClientId = ClientId;
        if (TenantId is not null)
            options.TenantId = TenantId;
        return new DefaultAzureCredential(options);
    }

    private static string? Value(IConfigurationSection section, string key) =>
        section[key] is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    private static MlopsException Invalid(string message) => new("config.storage_connection", message + ".");
}
