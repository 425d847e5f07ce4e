#!/usr/bin/env bash
# Submits a study as an N-task Slurm job array plus a merge job that runs after every task
# succeeded:
#   deploy/slurm/submit.sh STUDY.toml /shared/reports/NAME N
# Prints the two job ids. RNNSTUDY_BIN names the binary (default ./rnnstudy).
set -euo pipefail
study=${1:?usage: submit.sh STUDY.toml OUT_FOLDER N}
out=${2:?usage: submit.sh STUDY.toml OUT_FOLDER N}
n=${3:?usage: submit.sh STUDY.toml OUT_FOLDER N}
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable --array="0-$((n - 1))" "$here/study.sbatch" "$study" "$out")
merge=$(sbatch --parsable --dependency="afterok:$array" "$here/merge.sbatch" "$out")
echo "array $array ($n shards), merge $merge"
