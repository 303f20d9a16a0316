#!/bin/bash
# Batch scoring, side by side in one run (issue 20): the whole job through the local host (upload excluded: the time
# from the upload's end to the job's completion) vs `mlops predict` (installed CLI) on the same file vs the XGBoost
# peer's whole process (pandas read + predict_proba + write). Each row carries the 1-minute load average read just
# before it (the machine is shared); peak memory is the max RSS of the process (the host row: of its worker).
# The model is the default GBDT trained by `mlops train` on 200k rows of the same generator (XGBoost: its defaults).
# usage: bench/Mlops.Bench/Batch/batch.sh [ROWS] [CHUNK_ROWS]      ROWS default 1000000 (the issue's figure: 10000000)
set -euo pipefail
ROWS=${1:-1000000}
CHUNK=${2:-100000}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
# A private work folder (its own installed tool: never replace the one other benchmarks use); the synthetic input
# is reused read-only from the shared folder when another benchmark made it already (same generator, same seed).
WORK=${TMPDIR:-/tmp}/mlbench-batch
mkdir -p "$WORK"
DATA="$WORK/synth_$ROWS.csv"
SHARED="${TMPDIR:-/tmp}/mlbench/synth_$ROWS.csv"
if [ ! -f "$DATA" ] && [ -f "$SHARED" ]; then DATA=$SHARED; fi
TRAIN="$WORK/synth_200000.csv"
[ -f "$DATA" ] || /work/shared/peers/make_synth.py "$ROWS" "$DATA"
[ -f "$TRAIN" ] || /work/shared/peers/make_synth.py 200000 "$TRAIN"
MLOPS=${MLOPS:-$("$REPO/bench/Mlops.Bench/Ml/install_tool.sh" "$WORK/tool")}
MODEL="$WORK/batch_gbdt.json"
XGB="$WORK/batch_xgb.json"
[ -f "$MODEL" ] || "$MLOPS" train "$TRAIN" --target target --task binary --out "$MODEL" --json > /dev/null
[ -f "$XGB" ] || "$HERE/xgb_batch_peer.py" train "$TRAIN" "$XGB"
dotnet build "$REPO/bench/Mlops.Bench/Mlops.Bench.csproj" -c Release -v q -nologo > /dev/null
echo "input: $ROWS rows x 28 features ($(du -h "$DATA" | cut -f1)), $(nproc) cores"
echo
echo "| what | load avg | rows | time | rows/s | peak memory |"
echo "|---|---|---|---|---|---|"
timed() { # label, command...: whole process time and max RSS from /usr/bin/time
  local label=$1; shift
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/time.txt" "$@" > /dev/null
  end=$(date +%s.%N)
  local secs; secs=$(echo "$end - $start" | bc)
  echo "| $label | $load | $ROWS | $(printf '%.1f' "$secs") s | $(echo "$ROWS / $secs" | bc | xargs printf "%'d") | max RSS $(( $(tail -1 "$WORK/time.txt") / 1024 )) MB |"
}
timed "mlops predict (installed CLI, one process, whole file in memory)" "$MLOPS" predict "$DATA" --model "$MODEL" --out "$WORK/preds_cli.csv" -q
timed "XGBoost 1.7 peer: pandas read + predict_proba + to_csv, 2 threads" "$HERE/xgb_batch_peer.py" predict "$DATA" "$XGB" "$WORK/preds_xgb.csv"
dotnet run -c Release --no-build --project "$REPO/bench/Mlops.Bench" -- batch "$DATA" "$MODEL" "$CHUNK"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
