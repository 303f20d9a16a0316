#!/bin/bash
# Whole-process timing (load + train + test, as a user runs it): the installed CLI (README, "Command line") against
# XGBoost, in PAIRS pairs back to back, then each GBDT engine at defaults once. Prints a markdown table; every row
# carries the 1-minute load average read just before it (the machine is shared).
# usage: bench/Mlops.Bench/Ml/whole_process.sh [ROWS] [PAIRS] [MLOPS_COMMAND]
#   ROWS default 1250000 → 1M train / 250k test; MLOPS_COMMAND default: pack and install into a private tool path.
set -euo pipefail
ROWS=${1:-1250000}
PAIRS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${TMPDIR:-/tmp}/mlbench
mkdir -p "$WORK"
DATA="$WORK/synth_$ROWS.csv"
[ -f "$DATA" ] || /work/shared/peers/make_synth.py "$ROWS" "$DATA"
MLOPS=${3:-$("$HERE/install_tool.sh" "$WORK/tool")}
echo "| what | load avg | whole process s | AUC |"
echo "|---|---|---|---|"
ours() { # label, extra train options
  local label=$1 extra=$2
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local start end out
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  out=$("$MLOPS" train "$DATA" --target target --task binary --json --out "$WORK/model.json" $extra)
  end=$(date +%s.%N)
  echo "| $label | $load | $(echo "$end - $start" | bc | xargs printf '%.1f') | $(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["metrics"]["auc"],5), "(load", round(d["load_seconds"],1), "s, train", round(d["train_seconds"],1), "s)")') |"
}
peer() {
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local start end out
  start=$(date +%s.%N)
  out=$(/work/shared/peers/train_peers.py --train "$DATA" --target target --task binary --models xgb --threads 2 --json)
  end=$(date +%s.%N)
  echo "| XGBoost 1.7 hist, defaults (depth 6, lr 0.3), 2 threads, pandas load | $load | $(echo "$end - $start" | bc | xargs printf '%.1f') | $(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(round(json.loads(sys.stdin.readline())["quality"]["auc"],5))') |"
}
for _ in $(seq "$PAIRS"); do
  ours "ours: mlops train (installed tool), defaults" ""
  peer
done
if [ "${ENGINES:-1}" = 1 ]; then
  ours "ours, -p engine=lightgbm" "-p engine=lightgbm"
  ours "ours, -p engine=mlops (our own GBDT)" "-p engine=mlops"
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
