// The user-assigned managed identity the function app runs as: storage, deployment package and telemetry all
// authenticate with it, so no account key or instrumentation key sits in an app setting.
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
