// The storage account's Event Grid system topic: it publishes the account's blob events. On Flex Consumption the blob
// triggers use Event Grid (Source = EventGrid) instead of polling containers. The topic needs nothing from the app, so
// it is provisioned with everything else; its webhook subscriptions need the deployed host's blobs_extension key and
// are created after deploy (hooks/blob-events.bicep, run by the postdeploy hook in azure.yaml).
param systemTopicName string
param location string
param tags object = {}
param storageAccountName string

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storageAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output systemTopicName string = systemTopic.name
