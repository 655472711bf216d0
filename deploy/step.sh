#!/usr/bin/env bash
# One numbered step of `make demo`: `deploy/step.sh N/TOTAL "what it does" command args...`.
# The command's output goes to $DEMO_LOG; the terminal gets one line with the step's time, or, if
# the command fails, the log's last lines and where the whole log is.
set -uo pipefail
number=$1 title=$2
shift 2
log=${DEMO_LOG:?set DEMO_LOG to the log file}
printf '[%s] %s ... ' "$number" "$title"
start=$(date +%s%N)
if "$@" >> "$log" 2>&1; then
    now=$(date +%s%N)
    ms=$(( (now - start) / 1000000 ))
    printf '%d.%d s\n' $((ms / 1000)) $((ms % 1000 / 100))
else
    status=$?
    printf 'failed\n'
    tail -40 "$log"
    echo "step $number failed (exit $status); the whole log: $log"
    exit 1
fi
