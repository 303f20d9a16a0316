// Telemetry: Application Insights on a Log Analytics workspace. Local (key) authentication is off, so the app sends
// telemetry with its managed identity (Monitoring Metrics Publisher, granted in rbac.bicep).
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object = {}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    // 30 days are included in the ingestion price; longer retention is billed per GB-month.
    retentionInDays: 30
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.name
