#!/usr/bin/env bash
# A study in N shards with GNU parallel, on this machine or over ssh, then the merge:
#   deploy/parallel.sh STUDY.toml /shared/reports/NAME N [--sshloginfile nodes.txt]
# Over ssh, every node needs the same binary at the same path and the shared folder mounted.
set -euo pipefail
study=${1:?usage: parallel.sh STUDY.toml OUT_FOLDER N [parallel options]}
out=${2:?}; n=${3:?}; shift 3
bin=${RNNSTUDY_BIN:-./rnnstudy}
seq 0 $((n - 1)) | parallel "$@" --halt now,fail=1 \
  "$bin" study --config "$study" --out "$out" --shard {}/"$n" --threads 1
"$bin" merge "$out"
