#!/bin/bash
# CSV loading speed (issue 23, item 2): our reader, parallel and serial (MLOPS_CSV_SERIAL=1, same build), against
# pandas' read_csv on the same file, alternating, REPEAT times. Ours is the `load_seconds` of `mlops train --json`
# (a one-iteration linear model keeps the rest short). usage: csv_load.sh MLOPS_COMMAND FILE.csv [REPEAT]
set -euo pipefail
MLOPS=$1 FILE=$2 REPEAT=${3:-3}
MB=$(($(stat -c %s "$FILE") / 1000000))
echo "file: $FILE, $MB MB"
echo "| reader | load avg | seconds | MB/s |"
echo "|---|---|---|---|"
ours() { # label, environment assignment
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local s; s=$(env $2 "$MLOPS" train "$FILE" --target target --task binary --trainer linear -p max_iterations=1 --json --out /tmp/mlbench/csvload-model.json \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["load_seconds"])')
  echo "| $1 | $load | $(printf '%.2f' "$s") | $(echo "$MB / $s" | bc) |"
}
pandas() {
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local s; s=$(/usr/bin/python3 -c "
import time, pandas as pd
t = time.perf_counter(); pd.read_csv('$FILE'); print(time.perf_counter() - t)")
  echo "| pandas $(/usr/bin/python3 -c 'import pandas; print(pandas.__version__)') read_csv (C engine, one thread) | $load | $(printf '%.2f' "$s") | $(echo "$MB / $s" | bc) |"
}
for _ in $(seq "$REPEAT"); do
  ours "ours, parallel chunks (default)" "MLOPS_X=1"
  pandas
  ours "ours, serial reader (MLOPS_CSV_SERIAL=1)" "MLOPS_CSV_SERIAL=1"
done
