// MlopsFunctions on Azure (azd layout): an isolated-worker .NET 10 function app on the Flex Consumption plan, one
// storage account reached only through a user-assigned managed identity (drop zone, artifacts, Durable task hub),
// the Event Grid system topic that feeds the blob triggers, and Application Insights on Log Analytics. The topic's
// subscriptions are made after deploy by the postdeploy hook (hooks/blob-events.bicep; see azure.yaml).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the unique suffix of every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource (must offer the Flex Consumption plan).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person running azd: gets data access to the storage account for the CLI and uploads. Empty: none.')
param principalId string = ''

@description('Kind of principalId: User for a person, ServicePrincipal when azd runs in a pipeline.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

@description('6-field NCRONTAB for retraining every configured dataset (UTC); empty turns scheduled retraining off.')
param retrainSchedule string = '0 0 2 * * *'

@description('Memory of each instance in MB (Flex Consumption: 512, 2048 or 4096). Training runs in the activities, so 2048 is the floor.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the platform may scale out to (cost ceiling).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the HTTP functions, so predictions never wait for a cold start (billed while idle).')
@minValue(0)
@maxValue(10)
param httpAlwaysReadyInstances int = 1

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-mlops-${resourceToken}'
var deploymentContainerName = 'app-package'
// Containers the app reads and writes (the Durable task hub creates its own lease and payload containers).
var appContainerNames = ['incoming', 'datasets', 'quarantine', 'models', 'runs', 'predictions', 'monitoring', 'feedback', 'scoring']
// The Event Grid-source blob triggers (shared with hooks/blob-events.bicep): each one's container must exist.
var blobEventTriggers = loadJsonContent('blob-event-triggers.json', '.triggers')
var blobEventContainerNames = [for trigger in blobEventTriggers: trigger.container]

// An empty schedule means "retraining off". The Functions host refuses to load a timer whose %setting% is empty, so
// the setting gets a valid placeholder (01:00 on January 1st) and the host's own switch turns the function off.
var retrainingEnabled = !empty(trim(retrainSchedule))
var retrainSchedulePlaceholder = '0 0 1 1 1 *'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-mlops-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: take('stmlops${resourceToken}', 24)
    location: location
    tags: tags
    containerNames: union(appContainerNames, blobEventContainerNames, [deploymentContainerName])
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-mlops-${resourceToken}'
    applicationInsightsName: 'appi-mlops-${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module api 'app/functionapp.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-mlops-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    httpAlwaysReadyInstances: httpAlwaysReadyInstances
    appSettings: {
      RETRAIN_SCHEDULE: retrainingEnabled ? trim(retrainSchedule) : retrainSchedulePlaceholder
      'AzureWebJobs.ScheduledRetraining.Disabled': retrainingEnabled ? 'false' : 'true'
      MLOPS_HOST_ID: functionAppName
      // In Azure the account is real storage: never start the local emulator.
      MLOPS_EMBEDDED_STORAGE: 'false'
    }
  }
  // The host reads its storage at start-up through the identity: grant the roles first.
  dependsOn: [rbac]
}

module blobEvents 'app/eventgrid.bicep' = {
  name: 'blobEvents'
  scope: rg
  params: {
    systemTopicName: 'evgt-mlops-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

// azd reads these into the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_BASE_URL string = api.outputs.url
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
// Read by the postdeploy hook, which subscribes the blob triggers to this topic.
output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME string = blobEvents.outputs.systemTopicName
