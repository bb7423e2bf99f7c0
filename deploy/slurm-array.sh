#!/bin/bash
# An experiment sliced over a Slurm job array: array task i runs shard i of N
# (`stormcast experiment EXP --shard N` reads SLURM_ARRAY_TASK_ID, counted
# from SLURM_ARRAY_TASK_MIN) and stores its runs in $OUT/shard-<i> on the
# shared filesystem; a second job, started when every task succeeded, merges
# them with `stormcast report` into the first folder ($OUT/shard-1) -- the same
# bytes one machine would have written (deploy/check.sh shows it).
#
# From the repository root, with `stormcast` on the PATH of the compute
# nodes (cargo install --path . on the shared filesystem, or the image of
# deploy/Dockerfile through your container runtime):
#
#   bash deploy/slurm-array.sh                     # submits the array, then the merge
#   EXP=experiments/restaurant.yaml OUT=results/restaurant bash deploy/slurm-array.sh
#
# or by hand: jid=$(sbatch --parsable deploy/slurm-array.sh)
#             sbatch --dependency=afterok:$jid --wrap 'stormcast report results/hpa-sizing/shard-*'
#
# The array's size is the shard count: change --array=1-4 alone and every
# task still takes its slice (the count comes from SLURM_ARRAY_TASK_COUNT).
# A task that is requeued resumes: the runs it already stored are kept.
#SBATCH --job-name=stormcast
#SBATCH --array=1-4
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=01:00:00
#SBATCH --output=stormcast-%A_%a.out
set -euo pipefail

EXP=${EXP:-experiments/hpa-sizing.yaml}
OUT=${OUT:-results/$(basename "$EXP" .yaml)}

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    # Not inside the array: submit it, and the merge to run after it.
    export EXP OUT
    jid=$(sbatch --parsable "$0")
    # Exit 1 (no point meets the SLOs) is an answer, not a failure.
    sbatch --dependency="afterok:${jid%%;*}" --job-name=stormcast-merge \
        --output="stormcast-merge-%j.out" \
        --wrap "stormcast report $OUT/shard-*; test \$? -le 1"
    echo "submitted array job $jid; merged result: $OUT/shard-1/experiment.json"
    exit 0
fi

exec stormcast experiment "$EXP" \
    --shard "$SLURM_ARRAY_TASK_COUNT" \
    --jobs "${SLURM_CPUS_PER_TASK:-1}" \
    --quiet \
    --out "$OUT/shard-$SLURM_ARRAY_TASK_ID"
