#!/usr/bin/env bash
# azd postdeploy hook (azure.yaml): subscribes every Event Grid-source blob trigger to the storage account's blob
# events, by deploying hooks/blob-events.bicep into the resource group. It runs after the code is deployed because the
# webhook needs the host's blobs_extension key, which the host creates on its first start (see that file).
#
# Needs the Azure CLI (`az`, signed in with `az login` to the same tenant as azd). azd passes its environment
# (AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and main.bicep's outputs) as variables. `azd env set
# ENABLE_BLOB_EVENTS false` skips this step: the app is deployed but no blob trigger fires. Idempotent: rerunning
# (every `azd deploy`) updates the subscriptions in place.
set -euo pipefail

if [[ "${ENABLE_BLOB_EVENTS:-true}" == "false" ]]; then
  echo "blob events: skipped (ENABLE_BLOB_EVENTS=false); drops under incoming/ and feedback/ will not trigger the app."
  exit 0
fi
if ! command -v az >/dev/null 2>&1; then
  echo "error: the Azure CLI (az) is needed to subscribe the blob triggers to Event Grid. Install it, run az login," >&2
  echo "       then azd deploy again (or azd env set ENABLE_BLOB_EVENTS false to deploy without blob events)." >&2
  exit 1
fi
for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_EVENTGRID_SYSTEM_TOPIC_NAME; do
  if [[ -z "${!name:-}" ]]; then
    echo "error: $name is not set: run this through azd (azd deploy), after azd provision has written the outputs." >&2
    exit 1
  fi
done

template="$(cd "$(dirname "$0")" && pwd)/blob-events.bicep"
az_args=(--subscription "$AZURE_SUBSCRIPTION_ID" --resource-group "$AZURE_RESOURCE_GROUP")

# The key exists once the host has started on the new code; a fresh Flex app can take a minute or two. Only whether
# it exists is asked for: the key itself never reaches this script or its output.
echo "blob events: waiting for the host of $AZURE_FUNCTION_APP_NAME to create its blobs_extension key..."
ready=false
for _ in $(seq 1 36); do
  answer=$(az functionapp keys list "${az_args[@]}" --name "$AZURE_FUNCTION_APP_NAME" \
    --query 'systemKeys.blobs_extension != `null`' --output tsv 2>/dev/null || true)
  if [[ "$answer" == "true" ]]; then ready=true; break; fi
  sleep 5
done
if [[ "$ready" != "true" ]]; then
  echo "error: $AZURE_FUNCTION_APP_NAME has no blobs_extension key after 3 minutes: is the app running? Check its" >&2
  echo "       logs in Application Insights, then azd deploy again." >&2
  exit 1
fi

echo "blob events: subscribing the blob triggers to $AZURE_EVENTGRID_SYSTEM_TOPIC_NAME..."
az deployment group create "${az_args[@]}" --name blob-events --template-file "$template" \
  --parameters functionAppName="$AZURE_FUNCTION_APP_NAME" systemTopicName="$AZURE_EVENTGRID_SYSTEM_TOPIC_NAME" \
  --query 'properties.outputs.subscriptionNames.value' --output tsv
echo "blob events: done."
