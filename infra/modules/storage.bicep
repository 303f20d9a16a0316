// Storage for everything: the drop zone (incoming), dataset versions, models, runs, quarantine, the orchestration
// task hub (tables + queues) and the Functions host's own state.
param name string
param location string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take(toLower(replace(name, '-', '')), 24)
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    // Artifacts are versioned by content hash already; soft delete guards against an operator's mistake.
    deleteRetentionPolicy: { enabled: true, days: 14 }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in ['incoming', 'datasets', 'models', 'runs', 'quarantine']: {
  parent: blobService
  name: c
}]

output name string = account.name
