#!/bin/bash
# The two GBDT engines at defaults, back to back per size (issue 23, item 4): LightGBM (Microsoft.ML) and our own,
# through the installed CLI, alternating REPEAT times; train seconds (load excluded) and test AUC per run.
# usage: bench/Mlops.Bench/Ml/engines.sh MLOPS_COMMAND [ROWS...] (default 125000 1250000 12500000: 100k, 1M, 10M train)
set -euo pipefail
MLOPS=$1; shift
SIZES=${*:-125000 1250000 12500000}
REPEAT=${REPEAT:-2}
WORK=${TMPDIR:-/tmp}/mlbench
mkdir -p "$WORK"
echo "| training rows | engine | load avg | train s | AUC |"
echo "|---|---|---|---|---|"
for rows in $SIZES; do
  data="$WORK/synth_$rows.csv"
  [ -f "$data" ] || /work/shared/peers/make_synth.py "$rows" "$data"
  for _ in $(seq "$REPEAT"); do
    for engine in lightgbm mlops; do
      load=$(cut -d' ' -f1 /proc/loadavg)
      "$MLOPS" train "$data" --target target --task binary --json --out "$WORK/engine-model.json" --out-of-core false -p engine=$engine \
        | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(f'| {d[\"train_rows\"]:,} | $engine | $load | {d[\"train_seconds\"]:.1f} | {d[\"metrics\"][\"auc\"]:.5f} |')"
    done
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
