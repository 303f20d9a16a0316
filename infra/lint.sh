#!/usr/bin/env bash
# Lints the infrastructure: every .bicep file under infra/ is built with the Bicep CLI, and any error OR warning
# (linter rules included) fails the run. The CLI comes from the NuGet package Azure.Bicep.CommandLine.linux-x64,
# restored through infra/tools/BicepTool.csproj like any other package: nothing is downloaded from elsewhere, so
# this works from a clean clone with only the .NET SDK. Usage: bash infra/lint.sh
set -euo pipefail
infra=$(cd "$(dirname "$0")" && pwd)
tool="$infra/tools/BicepTool.csproj"

if ! restore=$(dotnet restore "$tool" --nologo 2>&1); then echo "$restore" >&2; exit 2; fi
package=$(dotnet msbuild "$tool" -nologo -getProperty:PkgAzure_Bicep_CommandLine_linux-x64)
bicep="$package/tools/bicep"
[[ -f "$bicep" ]] || { echo "lint: Bicep CLI not found at $bicep" >&2; exit 2; }
# NuGet extracts files without the execute bit.
[[ -x "$bicep" ]] || chmod +x "$bicep"
echo "lint: $("$bicep" --version)"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0
count=0
while IFS= read -r -d '' file; do
  count=$((count + 1))
  # build runs the compiler and the linter; --outdir keeps the generated JSON out of the tree.
  if ! diagnostics=$("$bicep" build "$file" --outdir "$out" 2>&1); then failed=1; fi
  if grep -qE ': (Error|Warning) ' <<<"$diagnostics"; then failed=1; fi
  [[ -n "$diagnostics" ]] && echo "$diagnostics"
done < <(find "$infra" -name '*.bicep' -not -path '*/tools/*' -print0 | sort -z)

if [[ $count -eq 0 ]]; then echo "lint: no .bicep files under $infra" >&2; exit 2; fi
if [[ $failed -ne 0 ]]; then echo "lint: FAILED ($count Bicep files; errors or warnings above)" >&2; exit 1; fi
echo "lint: $count Bicep files, no errors or warnings"
