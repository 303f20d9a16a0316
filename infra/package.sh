#!/usr/bin/env bash
# Builds the deployable function app folder: host.json + one folder per function (function.json) + the handler binary.
# Deploy the resulting zip with: az functionapp deployment source config-zip -g <rg> -n <app> --src out/functionapp.zip
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/infra/out/functionapp"
rm -rf "$out" && mkdir -p "$out"
dotnet publish "$root/functions/Mlops.Functions" -c Release -r linux-x64 --self-contained true -o "$out"
cp "$root/host.json" "$out/"
cp -r "$root/infra/functions/." "$out/"
(cd "$out" && zip -qr ../functionapp.zip .)
echo "Built $root/infra/out/functionapp.zip"
