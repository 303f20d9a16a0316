# azd postdeploy hook (azure.yaml), PowerShell twin of postdeploy.sh: subscribes every Event Grid-source blob trigger
# to the storage account's blob events, by deploying hooks/blob-events.bicep into the resource group. It runs after the
# code is deployed because the webhook needs the host's blobs_extension key, which the host creates on its first start.
#
# Needs the Azure CLI (`az`, signed in with `az login` to the same tenant as azd). azd passes its environment
# (AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and main.bicep's outputs) as variables. `azd env set
# ENABLE_BLOB_EVENTS false` skips this step: the app is deployed but no blob trigger fires. Idempotent.
$ErrorActionPreference = 'Stop'

if ($env:ENABLE_BLOB_EVENTS -eq 'false') {
    Write-Host 'blob events: skipped (ENABLE_BLOB_EVENTS=false); drops under incoming/ and feedback/ will not trigger the app.'
    exit 0
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    Write-Error ('the Azure CLI (az) is needed to subscribe the blob triggers to Event Grid. Install it, run az login, ' +
        'then azd deploy again (or azd env set ENABLE_BLOB_EVENTS false to deploy without blob events).')
    exit 1
}
foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'AZURE_EVENTGRID_SYSTEM_TOPIC_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        Write-Error "$name is not set: run this through azd (azd deploy), after azd provision has written the outputs."
        exit 1
    }
}

$template = Join-Path $PSScriptRoot 'blob-events.bicep'
$azArgs = @('--subscription', $env:AZURE_SUBSCRIPTION_ID, '--resource-group', $env:AZURE_RESOURCE_GROUP)

# The key exists once the host has started on the new code; a fresh Flex app can take a minute or two. Only whether
# it exists is asked for: the key itself never reaches this script or its output.
Write-Host "blob events: waiting for the host of $env:AZURE_FUNCTION_APP_NAME to create its blobs_extension key..."
$ready = $false
for ($i = 0; $i -lt 36 -and -not $ready; $i++) {
    $answer = az functionapp keys list @azArgs --name $env:AZURE_FUNCTION_APP_NAME `
        --query 'systemKeys.blobs_extension != `null`' --output tsv 2>$null
    if ($answer -eq 'true') { $ready = $true } else { Start-Sleep -Seconds 5 }
}
if (-not $ready) {
    Write-Error ("$env:AZURE_FUNCTION_APP_NAME has no blobs_extension key after 3 minutes: is the app running? " +
        'Check its logs in Application Insights, then azd deploy again.')
    exit 1
}

Write-Host "blob events: subscribing the blob triggers to $env:AZURE_EVENTGRID_SYSTEM_TOPIC_NAME..."
az deployment group create @azArgs --name blob-events --template-file $template `
    --parameters "functionAppName=$env:AZURE_FUNCTION_APP_NAME" "systemTopicName=$env:AZURE_EVENTGRID_SYSTEM_TOPIC_NAME" `
    --query 'properties.outputs.subscriptionNames.value' --output tsv
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
Write-Host 'blob events: done.'
