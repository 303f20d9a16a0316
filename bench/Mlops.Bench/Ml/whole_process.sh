#!/bin/bash
# Whole-process timing (load + train + test, as a user runs it), our CLI against XGBoost, back to back, issue 14's table.
# usage: bench/Mlops.Bench/Ml/whole_process.sh [ROWS] (default 1250000 → 1M train / 250k test). Prints a markdown table;
# every row carries the 1-minute load average read just before it (the machine is shared).
set -euo pipefail
ROWS=${1:-1250000}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
WORK=${TMPDIR:-/tmp}/mlbench
mkdir -p "$WORK"
DATA="$WORK/synth_$ROWS.csv"
[ -f "$DATA" ] || /work/shared/peers/make_synth.py "$ROWS" "$DATA"
cd "$REPO"
dotnet build functions/Mlops.Cli >/dev/null
dotnet build -c Release functions/Mlops.Cli >/dev/null
XGB_SHAPE="-p num_leaves=63 -p max_depth=6 -p learning_rate=0.3 -p min_data_in_leaf=100"
echo "| what | load avg | whole process s | AUC |"
echo "|---|---|---|---|"
ours() { # label, extra train options, then the command that runs the CLI
  local label=$1 extra=$2; shift 2
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local start end out
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  out=$("$@" train "$DATA" --target target --task binary --json --out "$WORK/model.json" $extra)
  end=$(date +%s.%N)
  echo "| $label | $load | $(echo "$end - $start" | bc | xargs printf '%.1f') | $(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["metrics"]["auc"],4))') |"
}
peer() {
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local start end out
  start=$(date +%s.%N)
  out=$(/work/shared/peers/train_peers.py --train "$DATA" --target target --task binary --models xgb --threads 2 --json)
  end=$(date +%s.%N)
  echo "| XGBoost 1.7 hist, defaults (depth 6, lr 0.3), 2 threads, pandas load | $load | $(echo "$end - $start" | bc | xargs printf '%.1f') | $(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(round(json.loads(sys.stdin.readline())["quality"]["auc"],4))') |"
}
ours "ours, README command as-is: dotnet run --project functions/Mlops.Cli (no -c)" "" dotnet run --project functions/Mlops.Cli --
ours "ours, the same CLI with -c Release: dotnet run -c Release --project functions/Mlops.Cli" "" dotnet run -c Release --project functions/Mlops.Cli --
peer
CLI="dotnet functions/Mlops.Cli/bin/Debug/net10.0/Mlops.Cli.dll"
# shellcheck disable=SC2086
ours "ours, defaults (GBDT engine auto → LightGBM)" "" $CLI
# shellcheck disable=SC2086
ours "ours, engine=mlops (our own GBDT), defaults" "-p engine=mlops" $CLI
# shellcheck disable=SC2086
ours "ours, LightGBM with XGBoost's shape" "$XGB_SHAPE" $CLI
# shellcheck disable=SC2086
ours "ours, engine=mlops with XGBoost's shape" "$XGB_SHAPE -p engine=mlops" $CLI
peer
