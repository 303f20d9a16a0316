// MlopsFunctions on Azure: one storage account (data, artifacts, orchestration state) and a function app that runs
// the same handlers as the local host, as an Azure Functions custom handler (host.json "customHandler").
targetScope = 'resourceGroup'

@description('Short name used as a prefix for every resource (3-11 lowercase letters/digits).')
@minLength(3)
@maxLength(11)
param appName string

param location string = resourceGroup().location

@description('6-field NCRONTAB for scheduled retraining of every configured dataset; empty disables it.')
param retrainSchedule string = '0 0 2 * * *'

@description('Elastic Premium keeps one instance warm: the orchestration worker polls its queues from the handler process, which the Consumption plan would freeze.')
@allowed(['EP1', 'EP2', 'EP3'])
param planSku string = 'EP1'

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${appName}${uniqueString(resourceGroup().id)}'
    location: location
  }
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: '${appName}-${uniqueString(resourceGroup().id)}'
    location: location
    storageAccountName: storage.outputs.name
    retrainSchedule: retrainSchedule
    planSku: planSku
  }
}

output functionAppName string = app.outputs.name
output functionAppUrl string = app.outputs.url
output storageAccountName string = storage.outputs.name
