// Data-plane roles on the storage account for the app's identity (and optionally the deploying user), and telemetry
// publishing on Application Insights. These replace the account key the app used to hold.
param storageAccountName string
param applicationInsightsName string
param identityPrincipalId string
@description('The deploying user (azd sets AZURE_PRINCIPAL_ID); empty assigns nothing.')
param userPrincipalId string = ''
@allowed(['User', 'ServicePrincipal'])
param userPrincipalType string = 'User'

// Built-in role definition ids (the same in every tenant).
var storageRoles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // blobs, containers and leases (triggers, task hub, deployment package)
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Durable control and work-item queues
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Durable history/instances, registry, receipts
}
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in items(storageRoles): {
  name: guid(storageAccount.id, identityPrincipalId, role.value)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource userStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in items(storageRoles): if (!empty(userPrincipalId)) {
  name: guid(storageAccount.id, userPrincipalId, role.value)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}]

resource telemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identityPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}
