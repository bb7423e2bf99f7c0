#!/bin/bash
# Runs an experiment sliced the way deploy/k8s-indexed-job.yaml and
# deploy/slurm-array.sh slice it -- N local processes, each given only the
# environment the scheduler would set -- merges the slices with
# `stormcast report`, and checks that experiment.json has the same bytes as
# the single-machine run.
#
#   deploy/check.sh [EXPERIMENT.yaml [N]]     # default: experiments/restaurant.yaml, 3 shards
#   STORMCAST=path/to/stormcast deploy/check.sh ...
#
# Exit 0 when both layouts merge to the single-machine bytes, 1 otherwise.
set -euo pipefail

EXP=${1:-experiments/restaurant.yaml}
N=${2:-3}
STORMCAST=${STORMCAST:-target/release/stormcast}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stormcast-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Neither layout may see a scheduler variable of the shell it runs in.
clean=(env -u JOB_COMPLETION_INDEX -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_MIN -u SLURM_ARRAY_TASK_COUNT)

# An experiment exits 1 when no point meets its SLOs: that is a result.
answer() { "$@" || [[ $? -eq 1 ]]; }

echo "single machine: $EXP"
answer "${clean[@]}" "$STORMCAST" experiment "$EXP" --out "$WORK/single" --quiet > /dev/null

echo "Kubernetes Indexed Job layout: JOB_COMPLETION_INDEX=0..$((N - 1))"
pids=()
for ((i = 0; i < N; i++)); do
    "${clean[@]}" JOB_COMPLETION_INDEX=$i \
        "$STORMCAST" experiment "$EXP" --shard "$N" --jobs 1 --quiet --out "$WORK/k8s/shard-$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
answer "$STORMCAST" report "$WORK"/k8s/shard-* > /dev/null

echo "Slurm array layout: SLURM_ARRAY_TASK_ID=1..$N"
pids=()
for ((i = 1; i <= N; i++)); do
    "${clean[@]}" SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$N \
        "$STORMCAST" experiment "$EXP" --shard "$N" --jobs 1 --quiet --out "$WORK/slurm/shard-$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
answer "$STORMCAST" report "$WORK"/slurm/shard-* > /dev/null

status=0
for merged in "$WORK/k8s/shard-0" "$WORK/slurm/shard-1"; do
    if cmp -s "$WORK/single/experiment.json" "$merged/experiment.json"; then
        echo "ok: ${merged#"$WORK"/}/experiment.json is the single-machine result, byte for byte"
    else
        echo "FAIL: ${merged#"$WORK"/}/experiment.json differs from the single-machine result"
        status=1
    fi
done
exit $status
