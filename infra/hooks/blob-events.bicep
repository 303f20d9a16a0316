// The Event Grid subscriptions of the blob triggers, one per entry of ../blob-event-triggers.json: BlobCreated events
// under the trigger's container go to the Functions host's blobs extension webhook for that function.
//
// Deployed by the azd postdeploy hook (postdeploy.sh / postdeploy.ps1), not by main.bicep: the webhook is authenticated
// with the host's blobs_extension system key, which the host creates on its first start after the code is deployed,
// and Event Grid validates the endpoint (the running host answers the handshake) when a subscription is created. Read
// during the first `azd provision`, before any code exists, the key lookup fails the whole deployment.
targetScope = 'resourceGroup'

@description('The deployed function app (azd output AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('The storage account\'s Event Grid system topic (azd output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME).')
param systemTopicName string

var triggers = loadJsonContent('../blob-event-triggers.json', '.triggers')
// The host's blobs extension endpoint, and its key (sites/host/default has no Bicep type to declare it by, so it is
// listed by id).
var webhooksBase = 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs'
var blobsExtensionKey = listKeys('${functionApp.id}/host/default', functionApp.apiVersion).systemKeys.blobs_extension

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = [for trigger in triggers: {
  parent: systemTopic
  // The drop zone's subscription kept the name it had when main.bicep made it, so redeploying updates it in place.
  name: '${trigger.container}-blob-created'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The key is a secret: read at deployment time and handed to Event Grid only; it is never an output.
        endpointUrl: '${webhooksBase}?functionName=Host.Functions.${trigger.functionName}&code=${blobsExtensionKey}'
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      // The trailing slash keeps a container whose name merely starts with this one (incoming2/) out.
      subjectBeginsWith: '/blobServices/default/containers/${trigger.container}/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      // A drop must not be lost while the app restarts or scales from zero: retry for a day.
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}]

output subscriptionNames array = [for (trigger, i) in triggers: blobCreated[i].name]
