#!/bin/bash
# Start-up of the CLI as users run it (issue 23, item 1): `dotnet run` (the README's old command) against the installed
# tool, `--help` and `runs list` on an Azurite started here, then runtime settings tried on the installed tool.
# usage: bench/Mlops.Bench/Ml/cli_startup.sh MLOPS_COMMAND [RUNS]. Each block prints the load average before it.
set -euo pipefail
MLOPS=$1
RUNS=${2:-10}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
WORK=${TMPDIR:-/tmp}/mlbench/startup
mkdir -p "$WORK"
cd "$REPO"
[ -x node_modules/.bin/azurite ] || npm install --no-audit --no-fund --loglevel=error >/dev/null
PORT=$((20000 + RANDOM % 20000))
node_modules/.bin/azurite --silent --skipApiVersionCheck --location "$WORK/azurite" --blobPort $PORT --queuePort $((PORT + 1)) --tablePort $((PORT + 2)) >"$WORK/azurite.log" 2>&1 &
AZURITE=$!
trap 'kill $AZURITE' EXIT
sleep 3
KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=http://127.0.0.1:$PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$((PORT + 1))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$((PORT + 2))/devstoreaccount1;"
dotnet build functions/Mlops.Cli -v q -nologo >/dev/null
block() { # title, runs, then the commands
  echo "### $1 (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  local runs=$2
  shift 2
  hyperfine -N --warmup 2 --runs "$runs" --export-markdown "$WORK/table.md" "$@" >"$WORK/hyperfine.log" 2>&1 || { cat "$WORK/hyperfine.log"; return 1; }
  cat "$WORK/table.md"
}
block "dotnet run (before) vs installed tool" 5 \
  'dotnet run --project functions/Mlops.Cli -- --help' "$MLOPS --help" \
  'dotnet run --project functions/Mlops.Cli -- runs list' "$MLOPS runs list"
block "installed tool: ReadyToRun code used or ignored (DOTNET_ReadyToRun=0)" "$RUNS" \
  "$MLOPS --help" "env DOTNET_ReadyToRun=0 $MLOPS --help" "$MLOPS runs list" "env DOTNET_ReadyToRun=0 $MLOPS runs list"
block "installed tool: tiered compilation settings" "$RUNS" \
  "$MLOPS runs list" "env DOTNET_TieredPGO=0 $MLOPS runs list" "env DOTNET_TC_QuickJitForLoops=0 $MLOPS runs list" "env DOTNET_TieredCompilation=0 $MLOPS runs list"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
