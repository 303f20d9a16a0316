#!/bin/bash
# Packs the CLI and installs it as the README says, but into a private tool path (the benchmarks must not replace a
# user's global `mlops`). Prints the path of the installed command. usage: install_tool.sh [TOOL_DIR]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
TOOLS=${1:-${TMPDIR:-/tmp}/mlbench/tool}
cd "$REPO"
dotnet pack functions/Mlops.Cli -o .local/tool -v q -nologo >&2
dotnet tool update --tool-path "$TOOLS" --source .local/tool Mlops.Cli >&2
echo "$TOOLS/mlops"
