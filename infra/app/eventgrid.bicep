// Blob events for the blob trigger: on Flex Consumption the trigger uses Event Grid (Source = EventGrid) instead of
// polling the container. An Event Grid system topic on the storage account publishes BlobCreated events; a webhook
// subscription delivers those under incoming/ to the Functions host's blobs extension endpoint.
param systemTopicName string
param location string
param tags object = {}
param storageAccountName string
param functionAppName string
@description('The [Function] name of the blob trigger (DataDropped).')
param blobTriggerFunctionName string
param dropContainerName string
@description('''Create the webhook subscription. The endpoint is authenticated with the host's blobs_extension system
key, which the Functions host creates on its first start after the code is deployed; reading it before then fails the
deployment, and Event Grid also validates the endpoint (the running app answers the handshake) when the subscription is
created. Hence false on the first provision and true afterwards (see main.bicep).''')
param createSubscription bool

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
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

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (createSubscription) {
  parent: systemTopic
  name: 'incoming-blob-created'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The key is a secret: it is read at deployment time and handed to Event Grid only; it is never an output.
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${listKeys('${functionApp.id}/host/default', functionApp.apiVersion).systemKeys.blobs_extension}'
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${dropContainerName}/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      // A drop must not be lost while the app restarts or scales from zero: retry for a day.
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output systemTopicName string = systemTopic.name
